/**
 * A profile value is a template: each `$name` token is a variable the RA fills, the text around the tokens is
 * the profile's own (`$mail_firstName $mail_lastName`, `$user@contoso.com`, `Contoso Ltd`).
 */

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'variable'; name: string };

const VARIABLE_TOKEN = /\$([A-Za-z0-9_.:-]+)/gu;

/** Splits a profile value into literal text and `$variable` tokens (names without `$`, as spelled). */
export function parseValueTemplate(value: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let position = 0;
  for (const match of value.matchAll(VARIABLE_TOKEN)) {
    if (match.index > position) parts.push({ kind: 'text', text: value.slice(position, match.index) });
    parts.push({ kind: 'variable', name: match[1] as string });
    position = match.index + match[0].length;
  }
  if (position < value.length) parts.push({ kind: 'text', text: value.slice(position) });
  return parts;
}

/** The variable names of a value, in order, as spelled (a name may repeat). */
export function templateVariables(value: string): string[] {
  return parseValueTemplate(value).flatMap((part) => (part.kind === 'variable' ? [part.name] : []));
}

/** Variable names are compared case-insensitively: `$mail_firstname` is `$mail_firstName`. */
export function variableKey(name: string): string {
  return name.toLowerCase();
}

/**
 * The value with its variables filled (looked up by variableKey), trimmed. Undefined when a variable has no
 * value: half a template (`Dept ` for `Dept $dept`) would be wrong, so the caller leaves the value out.
 */
export function renderTemplate(
  value: string,
  valueOf: (key: string) => string | undefined,
): string | undefined {
  let rendered = '';
  for (const part of parseValueTemplate(value)) {
    if (part.kind === 'text') {
      rendered += part.text;
      continue;
    }
    const filled = valueOf(variableKey(part.name));
    if (filled === undefined) return undefined;
    rendered += filled;
  }
  return rendered.trim();
}
