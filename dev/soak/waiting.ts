/** Small helpers the soak's loops share. */

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
