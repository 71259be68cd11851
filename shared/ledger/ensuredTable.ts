/** A table of the ledger, created on first use, and the storage errors the ledger interprets. */
import type { TableClient } from '@azure/data-tables';

/**
 * Runs operations on a table once it exists; a table that has vanished since is created again, once. Shared
 * by the request and revocation records, which live in the same table.
 */
export class EnsuredTable {
  private tableReady: Promise<void> | undefined;

  constructor(readonly client: TableClient) {}

  async run<T>(operation: () => Promise<T>): Promise<T> {
    await this.ensure();
    try {
      return await operation();
    } catch (error) {
      if (storageErrorOf(error).errorCode !== 'TableNotFound') throw error;
      this.tableReady = undefined;
      await this.ensure();
      return operation();
    }
  }

  private ensure(): Promise<void> {
    // createTable is idempotent (an existing table is not an error); one call is shared by all callers.
    this.tableReady ??= this.client.createTable().catch((error: unknown) => {
      this.tableReady = undefined;
      throw error;
    });
    return this.tableReady;
  }
}

/** The HTTP status and Table error code of a storage error (RestError), read without trusting its shape. */
export function storageErrorOf(error: unknown): { statusCode?: number; errorCode?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const statusCode =
    'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
  let errorCode: string | undefined;
  if ('details' in error && typeof error.details === 'object' && error.details !== null) {
    const details = error.details;
    if ('errorCode' in details && typeof details.errorCode === 'string') errorCode = details.errorCode;
  }
  if (errorCode === undefined && 'code' in error && typeof error.code === 'string') errorCode = error.code;
  return { statusCode, errorCode };
}
