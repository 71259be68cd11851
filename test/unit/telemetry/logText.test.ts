import { logSafe } from '../../../shared/telemetry/logText';

describe('logSafe', () => {
  it('escapes control, bidi and zero-width characters, and leaves other text alone', () => {
    expect(logSafe('failed INVALID_REQUEST: "h04\u202E@contoso.com"')).toBe(
      'failed INVALID_REQUEST: "h04<U+202E>@contoso.com"',
    );
    // A newline in a value would otherwise start a forged log line.
    expect(logSafe('a\nrequest x: issued serial 00')).toBe('a<U+000A>request x: issued serial 00');
    expect(logSafe('zero\u200Bwidth\u2066isolate\u0000nul')).toBe(
      'zero<U+200B>width<U+2066>isolate<U+0000>nul',
    );
    expect(logSafe('Zoë Ödegård 😀 — fine')).toBe('Zoë Ödegård 😀 — fine');
  });
});
