/**
 * Duplicate keys in JSON text. JSON.parse keeps the last of two equal keys; another parser upstream may keep
 * the first, so a message could mean one thing to the system that checked it and another to the broker. The
 * scan runs only on text JSON.parse accepted, so it need not check the grammar; it is iterative (no stack
 * depth to exhaust) and linear in the text.
 */

export interface DuplicateKey {
  key: string;
  /** UTF-16 index of the second occurrence's opening quote. */
  index: number;
}

export function findDuplicateKey(validJson: string): DuplicateKey | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectingKey = false;
  for (let index = 0; index < validJson.length; index++) {
    const character = validJson[index];
    if (character === '"') {
      const end = closingQuoteOf(validJson, index);
      const keys = open[open.length - 1];
      if (expectingKey && keys instanceof Set) {
        const key = JSON.parse(validJson.slice(index, end + 1)) as string;
        if (keys.has(key)) return { key, index };
        keys.add(key);
        expectingKey = false;
      }
      index = end;
    } else if (character === '{') {
      open.push(new Set());
      expectingKey = true;
    } else if (character === '[') {
      open.push(null);
      expectingKey = false;
    } else if (character === '}' || character === ']') {
      open.pop();
      expectingKey = false;
    } else if (character === ',') {
      expectingKey = open[open.length - 1] instanceof Set;
    }
  }
  return undefined;
}

function closingQuoteOf(text: string, opening: number): number {
  let index = opening + 1;
  while (index < text.length && text[index] !== '"') index += text[index] === '\\' ? 2 : 1;
  return index;
}
