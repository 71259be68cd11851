import { bodySnippet, describeAnswerBody } from '../../../../shared/digicert/faults/answerBody';
import { interpretHttpAnswer } from '../../../../shared/digicert/faults/httpAnswer';
import { context } from './fixtures';

describe('describeAnswerBody: what a CA answer that is not SOAP was', () => {
  it.each([
    ['text/html', '<!DOCTYPE html><html><body>down</body></html>', /^an HTML page \(text\/html, 45 bytes\)$/],
    [undefined, '<HTML><body>down</body></HTML>', /^an HTML page \(no content type, 30 bytes\)$/],
    ['application/json', '{"error":"x"}', /^JSON \(application\/json, 13 bytes\)$/],
    ['text/plain', '[1,2]', /^JSON \(text\/plain, 5 bytes\)$/],
    ['application/octet-stream', 'ab\u0000cd', /^binary data \(application\/octet-stream, 5 bytes\)$/],
    ['text/xml', '<?xml version="1.0"?><a/>', /^XML \(text\/xml, 25 bytes\)$/],
    [['text/plain', 'text/html'], 'Service Unavailable', /^text \(text\/plain, 19 bytes\)$/],
  ])('%p %p → %p', (contentType, body, expected) => {
    expect(describeAnswerBody(contentType, body)).toMatch(expected);
  });

  it('takes text decoded from random bytes (replacement characters) as binary', () => {
    const decoded = Buffer.from([0xff, 0xfe, 0x80, 0x41, 0x9f, 0xc3, 0x28, 0xa0, 0xa1]).toString('utf8');
    expect(describeAnswerBody('text/xml', decoded)).toMatch(/^binary data/);
  });
});

describe('bodySnippet', () => {
  it('collapses markup and white space and cuts at 200 characters', () => {
    expect(bodySnippet('<h1>Bad\n\tGateway</h1>')).toBe('Bad Gateway');
    expect(bodySnippet('x'.repeat(500))).toBe(`${'x'.repeat(200)}…`);
  });

  it('never passes on control characters or raw bytes', () => {
    expect(bodySnippet('a\u001b[31mred\u0007b')).toBe('a [31mred b');
    expect(bodySnippet('\u0000\u0001binary')).toBe('8 bytes of binary data');
  });
});

describe('interpretHttpAnswer on hostile answers', () => {
  const failed = (outcome: ReturnType<typeof interpretHttpAnswer>) => {
    if (outcome.ok) throw new Error('expected a failure');
    return outcome.error;
  };

  it('a 200 that is not SOAP says what came; the XML parse problem only for XML', () => {
    const html = failed(
      interpretHttpAnswer(
        { status: 200, headers: { 'content-type': 'text/html' }, bodyText: '<!DOCTYPE html><html></html>' },
        context,
        0,
      ),
    );
    expect(html.code).toBe('CA_REJECTED');
    expect(html.message).toMatch(/the answer is not SOAP but an HTML page \(text\/html, 28 bytes\)$/);
    const dtd = failed(
      interpretHttpAnswer(
        { status: 200, headers: {}, bodyText: '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>' },
        context,
        0,
      ),
    );
    expect(dtd.message).toMatch(/not SOAP but XML \(no content type, \d+ bytes\): the document has a DTD/);
  });

  it.each([301, 302, 303, 307, 308])('a %d redirect is refused, naming where it pointed', (status) => {
    const error = failed(
      interpretHttpAnswer(
        { status, headers: { location: 'https://evil.example/pki-ws/x' }, bodyText: 'moved' },
        context,
        0,
      ),
    );
    expect(error.code).toBe('CA_REJECTED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(
      `HTTP ${status}, a redirect to https://evil.example/pki-ws/x, which the broker never follows`,
    );
    expect(error.remedy).toMatch(/PKI-WS does not redirect/);
  });

  it('a redirect without Location, or with control characters in it', () => {
    expect(
      failed(interpretHttpAnswer({ status: 302, headers: {}, bodyText: '' }, context, 0)).message,
    ).toContain('a redirect to nowhere');
    const message = failed(
      interpretHttpAnswer(
        { status: 302, headers: { location: 'https://x/\u001b[2J' }, bodyText: '' },
        context,
        0,
      ),
    ).message;
    expect(message).toContain('a redirect to https://x/ [2J,');
  });
});
