/**
 * Writes a folder as a zip (deflate, UTF-8 names, Unix modes, ZIP64 end records), for machines without the
 * `zip` command.
 */
/* eslint-disable security/detect-non-literal-fs-filename -- an operator's command: the build's own output folder and zip, chosen by the operator */
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { BuildError } from './buildError';

const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;

/**
 * Writes `sourceDir` as a zip (deflate, UTF-8 names, Unix modes, ZIP64 end records past 65,535 entries), for
 * machines without the `zip` command. Entries are sorted and dated 1980-01-01, so equal input gives equal bytes.
 */
export function writeZip(sourceDir: string, zipFile: string): { entries: number } {
  const entries: Array<{
    name: Buffer;
    crc: number;
    method: number;
    compressed: number;
    size: number;
    offset: number;
    mode: number;
  }> = [];
  const fd = openSync(zipFile, 'w');
  let offset = 0;
  const write = (buffer: Buffer): void => {
    writeSync(fd, buffer);
    offset += buffer.length;
  };
  const limit = 0xffffffff;
  try {
    const walk = (dir: string, prefix: string): void => {
      for (const name of readdirSync(dir).sort()) {
        const full = path.join(dir, name);
        const stat = statSync(full);
        const entryName = prefix + name + (stat.isDirectory() ? '/' : '');
        const nameBytes = Buffer.from(entryName, 'utf8');
        const data = stat.isDirectory() ? Buffer.alloc(0) : readFileSync(full);
        const deflated = data.length > 0 ? deflateRawSync(data) : data;
        const method = deflated.length < data.length ? 8 : 0;
        const body = method === 8 ? deflated : data;
        const crc = crc32(data);
        if (offset > limit || body.length > limit || data.length > limit) {
          throw new BuildError('the package is larger than 4 GB, which this zip writer does not support');
        }
        const header = Buffer.alloc(30);
        header.writeUInt32LE(0x04034b50, 0);
        header.writeUInt16LE(20, 4); // version needed: 2.0
        header.writeUInt16LE(0x0800, 6); // names are UTF-8
        header.writeUInt16LE(method, 8);
        header.writeUInt16LE(0, 10); // time 00:00
        header.writeUInt16LE(DOS_DATE_1980_01_01, 12);
        header.writeUInt32LE(crc, 14);
        header.writeUInt32LE(body.length, 18);
        header.writeUInt32LE(data.length, 22);
        header.writeUInt16LE(nameBytes.length, 26);
        header.writeUInt16LE(0, 28);
        entries.push({
          name: nameBytes,
          crc,
          method,
          compressed: body.length,
          size: data.length,
          offset,
          mode: stat.mode,
        });
        write(header);
        write(nameBytes);
        write(body);
        if (stat.isDirectory()) walk(full, entryName);
      }
    };
    walk(sourceDir, '');
    const directoryOffset = offset;
    for (const entry of entries) {
      const record = Buffer.alloc(46);
      record.writeUInt32LE(0x02014b50, 0);
      record.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, zip 2.0
      record.writeUInt16LE(20, 6);
      record.writeUInt16LE(0x0800, 8);
      record.writeUInt16LE(entry.method, 10);
      record.writeUInt16LE(0, 12);
      record.writeUInt16LE(DOS_DATE_1980_01_01, 14);
      record.writeUInt32LE(entry.crc, 16);
      record.writeUInt32LE(entry.compressed, 20);
      record.writeUInt32LE(entry.size, 24);
      record.writeUInt16LE(entry.name.length, 28);
      record.writeUInt16LE(0, 30); // extra
      record.writeUInt16LE(0, 32); // comment
      record.writeUInt16LE(0, 34); // disk
      record.writeUInt16LE(0, 36); // internal attributes
      const directoryFlag = entry.name[entry.name.length - 1] === 0x2f ? 0x10 : 0;
      record.writeUInt32LE((((entry.mode & 0xffff) << 16) | directoryFlag) >>> 0, 38);
      record.writeUInt32LE(entry.offset, 42);
      write(record);
      write(entry.name);
    }
    const directorySize = offset - directoryOffset;
    const needsZip64 = entries.length > 0xffff || directoryOffset > limit || directorySize > limit;
    if (needsZip64) {
      const zip64EndOffset = offset;
      const zip64End = Buffer.alloc(56);
      zip64End.writeUInt32LE(0x06064b50, 0);
      zip64End.writeBigUInt64LE(44n, 4); // size of the rest of this record
      zip64End.writeUInt16LE((3 << 8) | 45, 12);
      zip64End.writeUInt16LE(45, 14);
      zip64End.writeUInt32LE(0, 16);
      zip64End.writeUInt32LE(0, 20);
      zip64End.writeBigUInt64LE(BigInt(entries.length), 24);
      zip64End.writeBigUInt64LE(BigInt(entries.length), 32);
      zip64End.writeBigUInt64LE(BigInt(directorySize), 40);
      zip64End.writeBigUInt64LE(BigInt(directoryOffset), 48);
      write(zip64End);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeUInt32LE(0, 4);
      locator.writeBigUInt64LE(BigInt(zip64EndOffset), 8);
      locator.writeUInt32LE(1, 16);
      write(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(0, 4);
    end.writeUInt16LE(0, 6);
    end.writeUInt16LE(Math.min(entries.length, 0xffff), 8);
    end.writeUInt16LE(Math.min(entries.length, 0xffff), 10);
    end.writeUInt32LE(Math.min(directorySize, limit), 12);
    end.writeUInt32LE(Math.min(directoryOffset, limit), 16);
    end.writeUInt16LE(0, 20);
    write(end);
  } finally {
    closeSync(fd);
  }
  return { entries: entries.length };
}
