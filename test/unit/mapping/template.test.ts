import {
  parseValueTemplate,
  renderTemplate,
  templateVariables,
  type TemplatePart,
} from '../../../shared/mapping/template';

describe('parseValueTemplate', () => {
  const cases: [string, TemplatePart[]][] = [
    ['$common_name', [{ kind: 'variable', name: 'common_name' }]],
    ['Contoso Ltd', [{ kind: 'text', text: 'Contoso Ltd' }]],
    [
      '$mail_firstname $mail_lastname',
      [
        { kind: 'variable', name: 'mail_firstname' },
        { kind: 'text', text: ' ' },
        { kind: 'variable', name: 'mail_lastname' },
      ],
    ],
    [
      'Dept. $dept (NL)',
      [
        { kind: 'text', text: 'Dept. ' },
        { kind: 'variable', name: 'dept' },
        { kind: 'text', text: ' (NL)' },
      ],
    ],
    [
      '$user+x@contoso.com',
      [
        { kind: 'variable', name: 'user' },
        { kind: 'text', text: '+x@contoso.com' },
      ],
    ],
    ['$a.b:c-d_1', [{ kind: 'variable', name: 'a.b:c-d_1' }]],
    // A lone `$` is text.
    ['costs $ 5', [{ kind: 'text', text: 'costs $ 5' }]],
    ['', []],
  ];
  it.each(cases)('%p', (value, expected) => {
    expect(parseValueTemplate(value)).toEqual(expected);
  });

  it('templateVariables lists the names as spelled', () => {
    expect(templateVariables('"$Mail_FirstName $mail_lastname"')).toEqual([
      'Mail_FirstName',
      'mail_lastname',
    ]);
  });
});

describe('renderTemplate', () => {
  const values = new Map([
    ['mail_firstname', 'Ada'],
    ['mail_lastname', 'Lovelace'],
    ['dept', 'IT'],
  ]);
  const valueOf = (key: string): string | undefined => values.get(key);

  it.each<[string, string | undefined]>([
    ['$mail_firstName $mail_lastName', 'Ada Lovelace'],
    ['$MAIL_FIRSTNAME', 'Ada'],
    ['Contoso $dept', 'Contoso IT'],
    ['  Contoso Ltd  ', 'Contoso Ltd'],
    ['Contoso $missing', undefined],
    ['$mail_firstName $missing', undefined],
  ])('%p → %p', (value, expected) => {
    expect(renderTemplate(value, valueOf)).toBe(expected);
  });
});
