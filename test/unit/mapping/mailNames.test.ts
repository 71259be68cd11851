import { deriveMailNames, findUnsupportedNameCharacter, type MailNames } from '../../../shared/mapping';

describe('deriveMailNames', () => {
  const cases: [string, MailNames][] = [
    ['Jan Jansen', { firstName: 'Jan', lastName: 'Jansen' }],
    ['Mary Ann Smith', { firstName: 'Mary Ann', lastName: 'Smith' }],
    ['john.smith', { firstName: 'john', lastName: 'smith' }],
    ['a.b.c', { firstName: 'a', lastName: 'b.c' }],
    ['john.smith@contoso.com', { firstName: 'john', lastName: 'smith' }],
    ['IWUser0@contoso.onmicrosoft.com', { firstName: 'IWUser0', lastName: 'IWUser0' }],
    ['global_admin@intune.onmicrosoft.com', { firstName: 'global_admin', lastName: 'global_admin' }],
    ['Madonna', { firstName: 'Madonna', lastName: 'Madonna' }],
    // A split that leaves one side empty does not count.
    ['.hidden', { firstName: '.hidden', lastName: '.hidden' }],
    ['Zoë Ångström-Ødegård', { firstName: 'Zoë', lastName: 'Ångström-Ødegård' }],
    ['  Jan   Jansen  ', { firstName: 'Jan', lastName: 'Jansen' }],
  ];
  it.each(cases)('%s', (commonName, expected) => {
    expect(deriveMailNames(commonName)).toEqual(expected);
  });
});

describe('findUnsupportedNameCharacter', () => {
  it.each([
    'Jan',
    "O'Brien",
    'Jean-Luc',
    'J. R. R.',
    'Zoë',
    'Ångström',
    'Ødegård',
    'Łukasz Żółć',
    'Dvořák',
    'José',
    'Jose\u0301', // e + combining acute
    'Иван',
    '山田',
    'User0',
  ])('accepts %s', (value) => {
    expect(findUnsupportedNameCharacter(value)).toBeUndefined();
  });

  it.each([
    ['global_admin', "'_'", 7],
    ['a+b', "'+'", 2],
    ['mail@x', "'@'", 5],
    ['😀x', "'😀'", 1],
    ['𝐀b_', "'_'", 3], // an astral letter counts as one character
    ['tab\there', 'U+0009', 4],
    ['Jan,Piet', "','", 4],
  ] as [string, string, number][])('refuses %s: %s at position %d', (value, shown, position) => {
    expect(findUnsupportedNameCharacter(value)).toEqual({ shown, position });
  });
});
