/**
 * One HTTP answer of the CA read into what the attempt came to: a SOAP answer to hand on, or an error with
 * the CA's Retry-After in its detail.
 */
import { BrokerError } from '../../contract/errors';
import { SoapAnswer, SoapParseError, parseSoapAnswer } from '../soap';
import { bodySnippet, describeAnswerBody } from './answerBody';
import { unexpectedAnswerError } from './answerContent';
import { CallContext, callError } from './callContext';
import { RA_REJECTED_REMEDY } from './raRejection';
import { classifyFault } from './soapFault';
import { ambiguousError } from './transient';

/** What one attempt came to: the parsed SOAP answer, or an error (the delay a 429/503 asked for in its detail). */
export type AttemptOutcome = { ok: true; answer: SoapAnswer } | { ok: false; error: BrokerError };

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bodyText: string;
}

/** Retry-After as delay-seconds or an HTTP date, in ms from `nowMs`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Statuses by which the CA (or the gateway in front of it) refuses a request it did not carry out. */
const NOT_CARRIED_OUT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503]);

export interface AnswerOptions {
  /**
   * False for a request that must not be repeated blindly (enrollment): a 5xx without a SOAP fault other than
   * 502/503 then leaves open whether the CA did the work, and becomes an ambiguous error.
   */
  idempotent?: boolean;
}

/** Classifies one HTTP answer: a SOAP answer to hand on, or an error (with the CA's Retry-After, if any). */
export function interpretHttpAnswer(
  http: HttpAnswer,
  context: CallContext,
  nowMs: number,
  options: AnswerOptions = {},
): AttemptOutcome {
  let answer: SoapAnswer | undefined;
  let parseProblem: string | undefined;
  if (http.bodyText.trim() === '') {
    parseProblem = 'the answer is empty';
  } else {
    try {
      answer = parseSoapAnswer(http.bodyText);
    } catch (cause) {
      parseProblem = cause instanceof SoapParseError ? cause.message : String(cause);
    }
  }
  const retryAfterMs =
    http.status === 429 || http.status === 503
      ? parseRetryAfter(http.headers['retry-after'], nowMs)
      : undefined;
  const detail = retryAfterMs === undefined ? undefined : { retryAfterMs };

  if (answer?.fault !== undefined) return { ok: false, error: classifyFault(answer.fault, context, detail) };

  const status = `HTTP ${http.status}`;
  const body = bodySnippet(http.bodyText);
  const caMessage = body === '' ? status : `${status}: ${body}`;
  if (http.status >= 200 && http.status < 300) {
    if (answer !== undefined) return { ok: true, answer };
    // Whatever the content type said, only the body counts: a SOAP envelope is read, anything else is refused
    // with what it was (an HTML page from a proxy, JSON, binary data, other XML).
    const what = describeAnswerBody(http.headers['content-type'], http.bodyText);
    const problem = /^(?:XML|text) /.test(what) ? `${what}: ${parseProblem}` : what;
    return {
      ok: false,
      error: unexpectedAnswerError(context, `the answer is not SOAP but ${problem}`, caMessage),
    };
  }
  if (http.status >= 300 && http.status < 400) {
    const location = http.headers.location;
    const target = location === undefined ? 'nowhere' : bodySnippet(String(location));
    return {
      ok: false,
      error: callError(
        'CA_REJECTED',
        context,
        `the CA answered ${status}, a redirect to ${target}, which the broker never follows`,
        {
          caMessage,
          remedy: `Check that ${context.caHost} is the DigiCert PKI-WS FQDN of your account: PKI-WS does not redirect, and the RA certificate is only ever presented to an allow-listed host.`,
        },
      ),
    };
  }
  if (http.status === 429) {
    return {
      ok: false,
      error: callError('CA_UNAVAILABLE', context, `the CA asks to slow down (${status})`, {
        caMessage,
        detail,
      }),
    };
  }
  if (http.status >= 500) {
    const failed = callError('CA_UNAVAILABLE', context, `the CA answered ${status} without a SOAP fault`, {
      caMessage,
      detail,
    });
    if (options.idempotent === false && !NOT_CARRIED_OUT_STATUSES.has(http.status)) {
      return { ok: false, error: ambiguousError(failed) };
    }
    return { ok: false, error: failed };
  }
  if (http.status === 401 || http.status === 403) {
    return {
      ok: false,
      error: callError('CA_TLS_FAILED', context, `the CA refused the RA certificate (${status})`, {
        caMessage,
        remedy: RA_REJECTED_REMEDY,
        detail: { raRejection: 'refused' },
      }),
    };
  }
  if (http.status === 404 || http.status === 405) {
    return {
      ok: false,
      error: callError(
        'CA_REJECTED',
        context,
        `there is no PKI-WS ${context.service} at ${context.caHost} (${status})`,
        {
          caMessage,
          remedy: `Check that ${context.caHost} is the DigiCert PKI-WS FQDN of your account (such as pki-ws.symauth.com), without a path.`,
        },
      ),
    };
  }
  return { ok: false, error: callError('CA_REJECTED', context, `the CA answered ${status}`, { caMessage }) };
}

export function responseTooLargeError(context: CallContext, limitBytes: number): BrokerError {
  return callError('CA_REJECTED', context, `the answer is larger than ${limitBytes} bytes`, {
    caMessage: `answer larger than ${limitBytes} bytes`,
  });
}
