/**
 * Entry names of a zip archive, read from its central directory (ZIP64 end records included), with each
 * entry's local header checked to be where the directory says. Enough to compare an archive with a folder
 * on machines that have no unzip.
 */
const END_OF_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END_OF_DIRECTORY = 0x06064b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;

export function zipEntryNames(zip: Buffer): string[] {
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === END_OF_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip archive: no end-of-central-directory record');
  let count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  if (end >= 20 && zip.readUInt32LE(end - 20) === ZIP64_LOCATOR) {
    const zip64End = Number(zip.readBigUInt64LE(end - 20 + 8));
    if (zip.readUInt32LE(zip64End) !== ZIP64_END_OF_DIRECTORY) throw new Error('broken ZIP64 locator');
    count = Number(zip.readBigUInt64LE(zip64End + 32));
    offset = Number(zip.readBigUInt64LE(zip64End + 48));
  }
  const names: string[] = [];
  for (let index = 0; index < count; index++) {
    if (zip.readUInt32LE(offset) !== DIRECTORY_ENTRY)
      throw new Error(`central directory entry ${index} is broken`);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    if (localOffset !== 0xffffffff) {
      const localNameLength = zip.readUInt16LE(localOffset + 26);
      const localName = zip.toString('utf8', localOffset + 30, localOffset + 30 + localNameLength);
      if (zip.readUInt32LE(localOffset) !== LOCAL_HEADER || localName !== name) {
        throw new Error(`local header of ${name} is not where the central directory says`);
      }
    }
    names.push(name);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}
