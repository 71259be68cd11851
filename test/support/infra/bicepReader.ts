// One recursive-descent reader over one text: kept whole, its methods share the position and the text.
/**
 * A small reader for the subset of Bicep our templates use, so tests can assert on the templates without the
 * Bicep CLI (which cannot be installed here). It reads top-level declarations (targetScope, param, var,
 * resource, module, output) with their decorators, and turns object/array literals into a value tree; any
 * other expression is kept as its source text. It understands Bicep strings (escapes, ${} interpolation,
 * '''multi-line'''), comments, `existing`, `if (…)` conditions, `[for … : …]` loops and nested resources.
 */
import {
  BicepSyntaxError,
  type BicepDecorator,
  type BicepEntry,
  type BicepFile,
  type BicepParam,
  type BicepResource,
  type BicepValue,
} from './bicepModel';

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /-?\d+(\.\d+)?/y;
const CLOSERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

class Reader {
  private position = 0;
  private pendingNested: BicepResource[] = [];

  constructor(private readonly text: string) {}

  parseFile(): BicepFile {
    const file: BicepFile = { params: [], vars: [], resources: [], modules: [], outputs: [] };
    let decorators: BicepDecorator[] = [];
    for (;;) {
      this.skipTrivia(true);
      if (this.atEnd()) break;
      if (this.peek() === '@') {
        decorators.push(this.readDecorator());
        continue;
      }
      const keyword = this.readIdentifier();
      switch (keyword) {
        case 'targetScope': {
          this.expect('=');
          const scope = this.readValue();
          file.targetScope = scope.kind === 'string' ? scope.value : this.describe(scope);
          break;
        }
        case 'param': {
          const name = this.readIdentifier();
          const type = this.readUntilLineEndOr('=').trim();
          const param: BicepParam = { name, type, decorators };
          if (this.peek() === '=') {
            this.position++;
            param.defaultValue = this.readValue();
          }
          file.params.push(param);
          break;
        }
        case 'var': {
          const name = this.readIdentifier();
          this.expect('=');
          file.vars.push({ name, value: this.readValue() });
          break;
        }
        case 'resource':
          file.resources.push(...this.readResource(decorators));
          break;
        case 'module': {
          const symbol = this.readIdentifier();
          this.skipTrivia(false);
          const path = this.readStringLiteral();
          this.expect('=');
          const condition = this.readOptionalCondition();
          file.modules.push({ symbol, path, condition, body: this.readValue() });
          break;
        }
        case 'output': {
          const name = this.readIdentifier();
          const type = this.readUntilLineEndOr('=').trim();
          this.expect('=');
          file.outputs.push({ name, type, value: this.readValue() });
          break;
        }
        case 'import':
        case 'metadata':
        case 'type':
        case 'func':
        case 'extension':
        case 'provider':
          this.readUntilLineEndOr();
          break;
        default:
          throw new BicepSyntaxError(`unexpected "${keyword}" at top level`, this.text, this.position);
      }
      decorators = [];
    }
    return file;
  }

  /** A resource declaration (after the keyword), followed by the resources declared inside its body. */
  private readResource(
    decorators: BicepDecorator[],
    enclosing?: { symbol: string; type: string },
  ): BicepResource[] {
    const symbol = this.readIdentifier();
    this.skipTrivia(false);
    const typeAndVersion = this.readStringLiteral();
    const at = typeAndVersion.lastIndexOf('@');
    const ownType = at >= 0 ? typeAndVersion.slice(0, at) : typeAndVersion;
    const apiVersion = at >= 0 ? typeAndVersion.slice(at + 1) : undefined;
    const type = enclosing && !ownType.includes('/') ? `${enclosing.type}/${ownType}` : ownType;
    this.skipTrivia(false);
    let existing = false;
    if (this.lookingAtWord('existing')) {
      this.readIdentifier();
      existing = true;
    }
    this.expect('=');
    const condition = this.readOptionalCondition();
    const outerNested = this.pendingNested;
    this.pendingNested = [];
    const enclosingForChildren = { symbol, type };
    const body = this.readValue(enclosingForChildren);
    const nested = this.pendingNested;
    this.pendingNested = outerNested;
    const resource: BicepResource = {
      symbol,
      type,
      apiVersion,
      existing,
      condition,
      body,
      enclosing: enclosing?.symbol,
      decorators,
    };
    return [resource, ...nested];
  }

  private readOptionalCondition(): string | undefined {
    this.skipTrivia(false);
    if (!this.lookingAtWord('if')) return undefined;
    this.readIdentifier();
    this.skipTrivia(false);
    if (this.peek() !== '(') throw new BicepSyntaxError('expected "(" after if', this.text, this.position);
    const start = this.position;
    this.skipBalanced();
    return this.text.slice(start + 1, this.position - 1).trim();
  }

  private readDecorator(): BicepDecorator {
    this.position++; // @
    const name = this.readDottedIdentifier();
    if (this.peek() !== '(') return { name };
    const start = this.position;
    this.skipBalanced();
    return { name, args: this.text.slice(start + 1, this.position - 1).trim() };
  }

  /**
   * One value. Literals and object/array literals become a tree; if anything but a separator follows a
   * literal on its line (an operator, a property access), the whole thing is an expression.
   */
  private readValue(enclosing?: { symbol: string; type: string }): BicepValue {
    this.skipTrivia(false);
    const start = this.position;
    const char = this.peek();
    let value: BicepValue | undefined;
    if (char === '{') value = this.readObject(enclosing);
    else if (char === '[') value = this.readArrayOrFor(enclosing);
    else if (char === "'") value = this.readString();
    else if (this.lookingAtWord('true') || this.lookingAtWord('false')) {
      value = { kind: 'boolean', value: this.readIdentifier() === 'true' };
    } else if (this.lookingAtWord('null')) {
      this.readIdentifier();
      value = { kind: 'null' };
    } else {
      NUMBER.lastIndex = this.position;
      const number = NUMBER.exec(this.text);
      if (number) {
        this.position += number[0].length;
        value = { kind: 'number', value: Number(number[0]) };
      }
    }
    if (value !== undefined && this.restOfLineIsEmpty()) return value;
    this.position = start;
    const raw = this.readExpressionText();
    if (raw === '') throw new BicepSyntaxError('expected a value', this.text, this.position);
    return { kind: 'expression', raw };
  }

  private readObject(enclosing?: { symbol: string; type: string }): BicepValue {
    this.expect('{');
    const entries: BicepEntry[] = [];
    for (;;) {
      this.skipTrivia(true);
      if (this.peek() === ',') {
        this.position++;
        continue;
      }
      if (this.peek() === '}') {
        this.position++;
        return { kind: 'object', entries };
      }
      if (this.atEnd()) throw new BicepSyntaxError('unterminated object', this.text, this.position);
      if (this.peek() === '@') {
        this.readDecorator();
        continue;
      }
      if (this.lookingAtWord('resource') && enclosing && this.nextWordIsDeclaration()) {
        this.readIdentifier();
        this.pendingNested.push(...this.readResource([], enclosing));
        continue;
      }
      const key = this.peek() === "'" ? this.readStringLiteral() : this.readIdentifier();
      this.expect(':');
      entries.push({ key, value: this.readValue() });
    }
  }

  private readArrayOrFor(enclosing?: { symbol: string; type: string }): BicepValue {
    this.expect('[');
    this.skipTrivia(true);
    if (this.lookingAtWord('for')) {
      this.readIdentifier();
      const header = this.readUntilDepthZero(':').trim();
      this.expect(':');
      this.skipTrivia(true);
      const condition = this.readOptionalCondition();
      const body = this.readValue(enclosing);
      this.skipTrivia(true);
      this.expect(']');
      return { kind: 'for', header, condition, body };
    }
    const items: BicepValue[] = [];
    for (;;) {
      this.skipTrivia(true);
      if (this.peek() === ',') {
        this.position++;
        continue;
      }
      if (this.peek() === ']') {
        this.position++;
        return { kind: 'array', items };
      }
      if (this.atEnd()) throw new BicepSyntaxError('unterminated array', this.text, this.position);
      items.push(this.readValue());
    }
  }

  /** A quoted string: a literal, or an interpolated string with its parts. */
  private readString(): BicepValue {
    const start = this.position;
    if (this.text.startsWith("'''", this.position)) {
      const end = this.text.indexOf("'''", this.position + 3);
      if (end < 0) throw new BicepSyntaxError('unterminated multi-line string', this.text, start);
      this.position = end + 3;
      // A multi-line string starts after the first line break, if the opening quotes end their line.
      return { kind: 'string', value: this.text.slice(start + 3, end).replace(/^\r?\n/, '') };
    }
    this.position++; // opening quote
    const literalParts: string[] = [];
    const expressions: string[] = [];
    let current = '';
    for (;;) {
      if (this.atEnd()) throw new BicepSyntaxError('unterminated string', this.text, start);
      const char = this.text[this.position];
      if (char === '\\') {
        const next = this.text[this.position + 1];
        const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', "'": "'", '\\': '\\', $: '$' };
        if (next === 'u' && this.text[this.position + 2] === '{') {
          const close = this.text.indexOf('}', this.position);
          current += String.fromCodePoint(parseInt(this.text.slice(this.position + 3, close), 16));
          this.position = close + 1;
          continue;
        }
        if (escapes[next] === undefined) {
          throw new BicepSyntaxError(`unknown escape \\${next}`, this.text, this.position);
        }
        current += escapes[next];
        this.position += 2;
        continue;
      }
      if (char === "'") {
        this.position++;
        break;
      }
      if (char === '$' && this.text[this.position + 1] === '{') {
        literalParts.push(current);
        current = '';
        this.position++;
        const open = this.position;
        this.skipBalanced();
        expressions.push(this.text.slice(open + 1, this.position - 1).trim());
        continue;
      }
      current += char;
      this.position++;
    }
    if (expressions.length === 0) return { kind: 'string', value: current };
    literalParts.push(current);
    return { kind: 'interpolated', raw: this.text.slice(start, this.position), literalParts, expressions };
  }

  private readStringLiteral(): string {
    const value = this.readString();
    if (value.kind !== 'string') {
      throw new BicepSyntaxError('expected a string without interpolation', this.text, this.position);
    }
    return value.value;
  }

  /** Source text of an expression: up to a line break, comma or closing bracket at depth 0. */
  private readExpressionText(): string {
    return this.readUntilDepthZero().trim();
  }

  /** Reads to the end of the line (or `stop`) at bracket depth 0, skipping strings and comments. */
  private readUntilDepthZero(stop?: string): string {
    const start = this.position;
    while (!this.atEnd()) {
      const char = this.peek();
      if (stop !== undefined && char === stop) break;
      if (char === '\n' || char === ',' || char === ')' || char === ']' || char === '}') break;
      if (this.text.startsWith('//', this.position) || this.text.startsWith('/*', this.position)) {
        if (this.text.startsWith('//', this.position)) break;
        this.skipTrivia(false);
        continue;
      }
      if (char === "'") {
        this.readString();
        continue;
      }
      if (CLOSERS[char] !== undefined) {
        this.skipBalanced();
        continue;
      }
      this.position++;
    }
    return this.text.slice(start, this.position);
  }

  private readUntilLineEndOr(stop?: string): string {
    return this.readUntilDepthZero(stop);
  }

  /** Skips a bracketed group starting at the current position, respecting strings and nesting. */
  private skipBalanced(): void {
    const open = this.peek();
    const close = CLOSERS[open];
    if (close === undefined)
      throw new BicepSyntaxError(`expected a bracket, got "${open}"`, this.text, this.position);
    const start = this.position;
    this.position++;
    while (!this.atEnd()) {
      const char = this.peek();
      if (char === close) {
        this.position++;
        return;
      }
      if (char === "'") {
        this.readString();
        continue;
      }
      if (this.text.startsWith('//', this.position) || this.text.startsWith('/*', this.position)) {
        this.skipTrivia(true);
        continue;
      }
      if (CLOSERS[char] !== undefined) {
        this.skipBalanced();
        continue;
      }
      this.position++;
    }
    throw new BicepSyntaxError(`unbalanced "${open}"`, this.text, start);
  }

  /** Whitespace and comments; line breaks too when `lineBreaks` is true. */
  private skipTrivia(lineBreaks: boolean): void {
    while (!this.atEnd()) {
      const char = this.peek();
      if (char === ' ' || char === '\t' || char === '\r' || (lineBreaks && char === '\n')) {
        this.position++;
      } else if (this.text.startsWith('//', this.position)) {
        const end = this.text.indexOf('\n', this.position);
        this.position = end < 0 ? this.text.length : end;
      } else if (this.text.startsWith('/*', this.position)) {
        const end = this.text.indexOf('*/', this.position + 2);
        if (end < 0) throw new BicepSyntaxError('unterminated comment', this.text, this.position);
        this.position = end + 2;
      } else {
        return;
      }
    }
  }

  private restOfLineIsEmpty(): boolean {
    const saved = this.position;
    this.skipTrivia(false);
    const char = this.peek();
    const empty = this.atEnd() || ['\n', ',', ')', ']', '}'].includes(char);
    this.position = saved;
    return empty;
  }

  private readIdentifier(): string {
    this.skipTrivia(false);
    IDENTIFIER.lastIndex = this.position;
    const match = IDENTIFIER.exec(this.text);
    if (!match) {
      const found = this.text.slice(this.position, this.position + 20).split('\n')[0];
      throw new BicepSyntaxError(`expected an identifier, found "${found}"`, this.text, this.position);
    }
    this.position += match[0].length;
    return match[0];
  }

  private readDottedIdentifier(): string {
    let name = this.readIdentifier();
    while (this.peek() === '.') {
      this.position++;
      name += '.' + this.readIdentifier();
    }
    return name;
  }

  private lookingAtWord(word: string): boolean {
    if (!this.text.startsWith(word, this.position)) return false;
    const after = this.text[this.position + word.length];
    return after === undefined || !/[A-Za-z0-9_]/.test(after);
  }

  /** `resource <symbol> '<type>'` rather than a property named "resource". */
  private nextWordIsDeclaration(): boolean {
    return /^resource\s+[A-Za-z_][A-Za-z0-9_]*\s+'/.test(this.text.slice(this.position, this.position + 200));
  }

  private expect(char: string): void {
    this.skipTrivia(false);
    if (this.peek() !== char) {
      const found = this.text.slice(this.position, this.position + 20).split('\n')[0];
      throw new BicepSyntaxError(`expected "${char}", found "${found}"`, this.text, this.position);
    }
    this.position++;
  }

  private peek(): string {
    return this.text[this.position] ?? '';
  }

  private atEnd(): boolean {
    return this.position >= this.text.length;
  }

  private describe(value: BicepValue): string {
    return value.kind === 'expression' ? value.raw : JSON.stringify(value);
  }
}

export function parseBicep(text: string): BicepFile {
  return new Reader(text).parseFile();
}
