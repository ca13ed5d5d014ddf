/**
 * Concatenates Parquet files of one schema into one file, row group by row group, without
 * decoding or re-encoding a page: the data bytes are copied as they are and only the footer is
 * rewritten (each row group's and column chunk's offsets moved by where its bytes now start, row
 * group ordinals renumbered, row counts summed). This is what parquet-mr's `merge` does; compaction
 * uses it to join sorted, already-compressed slices into target-size files for the cost of a copy.
 *
 * Refused, naming the file: a file that is not plain Parquet (no PAR1 at both ends, an encrypted
 * footer, a column chunk stored in another file), and files whose schemas differ.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { decodeStruct, encodeStruct, field, WireType, type ThriftField, type ThriftList, type ThriftStruct } from './thrift-compact';

/** FileMetaData, RowGroup, ColumnChunk and ColumnMetaData field ids (parquet.thrift). */
const FILE = { schema: 2, numRows: 3, rowGroups: 4, columnOrders: 7, encryption: 8 } as const;
const ROW_GROUP = { columns: 1, fileOffset: 5, ordinal: 7 } as const;
const CHUNK = { filePath: 1, fileOffset: 2, metaData: 3, offsetIndexOffset: 4, columnIndexOffset: 6, crypto: 8, encryptedMeta: 9 } as const;
const META = { dataPageOffset: 9, indexPageOffset: 10, dictionaryPageOffset: 11, bloomFilterOffset: 14 } as const;

const MAGIC = 'PAR1';
const COPY_CHUNK = 8 * 1024 * 1024;

interface Footer {
  file: string;
  size: number;
  footerLength: number;
  meta: ThriftStruct;
}

async function readFooter(file: string, fh: FileHandle): Promise<Footer> {
  const { size } = await fh.stat();
  if (size < 12) throw new Error(`${file}: not a Parquet file (${size} bytes)`);
  const head = Buffer.alloc(4);
  const tail = Buffer.alloc(8);
  await fh.read(head, 0, 4, 0);
  await fh.read(tail, 0, 8, size - 8);
  if (head.toString('latin1') !== MAGIC || tail.toString('latin1', 4) !== MAGIC) {
    throw new Error(`${file}: not a plain Parquet file (PAR1 magic missing${tail.toString('latin1', 4) === 'PARE' ? '; the footer is encrypted' : ''})`);
  }
  const footerLength = tail.readUInt32LE(0);
  if (footerLength + 12 > size) throw new Error(`${file}: footer length ${footerLength} exceeds the file (${size} bytes)`);
  const bytes = Buffer.alloc(footerLength);
  await fh.read(bytes, 0, footerLength, size - 8 - footerLength);
  const meta = decodeStruct(bytes).struct;
  if (field(meta, FILE.encryption)) throw new Error(`${file}: encrypted Parquet files cannot be concatenated`);
  return { file, size, footerLength, meta };
}

const list = (s: ThriftStruct, id: number): ThriftList => {
  const f = field(s, id);
  if (!f || f.type !== WireType.List) throw new Error(`Parquet footer field ${id} is not a list`);
  return f.value as ThriftList;
};

const int64 = (s: ThriftStruct, id: number): bigint | undefined => {
  const f = field(s, id);
  return f ? BigInt(f.value as bigint | number) : undefined;
};

/** A copy of `s` with each listed field replaced (or added, kept in id order) by `make(old)`. */
function withFields(s: ThriftStruct, replace: Record<number, (old: ThriftField | undefined) => ThriftField | undefined>): ThriftStruct {
  const fields: ThriftField[] = [];
  const ids = new Set([...s.fields.map((f) => f.id), ...Object.keys(replace).map(Number)]);
  for (const id of [...ids].sort((a, b) => a - b)) {
    const old = s.fields.find((f) => f.id === id);
    const f = id in replace ? replace[id]!(old) : old;
    if (f) fields.push(f);
  }
  return { kind: 'struct', fields };
}

/** `s` with the i64 offsets among `ids` moved by `delta` (absent fields stay absent). */
function shifted(s: ThriftStruct, ids: readonly number[], delta: bigint, limit: bigint, where: string): ThriftStruct {
  const replace: Record<number, (old: ThriftField | undefined) => ThriftField | undefined> = {};
  for (const id of ids) {
    replace[id] = (old) => {
      if (!old) return undefined;
      // Some writers put 0 in the deprecated ColumnChunk.file_offset: not an offset, kept as it is.
      if (BigInt(old.value as bigint | number) < 4n) return old;
      const v = BigInt(old.value as bigint | number) + delta;
      if (v < 4n || v >= limit) throw new Error(`${where}: offset field ${id} (${v - delta}) lies outside the file's data`);
      return { ...old, value: v };
    };
  }
  return withFields(s, replace);
}

export interface ConcatResult {
  rows: number;
  rowGroups: number;
  bytes: number;
}

/** Writes `output` holding every row group of `inputs`, in order. */
export async function concatParquet(inputs: readonly string[], output: string): Promise<ConcatResult> {
  if (!inputs.length) throw new Error('concatParquet needs at least one input file');
  const out = await open(output, 'w');
  try {
    await out.write(Buffer.from(MAGIC, 'latin1'), 0, 4, 0);
    let pos = 4;
    let first: Footer | undefined;
    let firstSchema = '';
    const rowGroups: ThriftStruct[] = [];
    let rows = 0n;
    const buf = Buffer.alloc(COPY_CHUNK);
    for (const file of inputs) {
      const fh = await open(file, 'r');
      try {
        const footer = await readFooter(file, fh);
        const schema = Buffer.from(
          encodeStruct({
            kind: 'struct',
            fields: [field(footer.meta, FILE.schema)!, ...[field(footer.meta, FILE.columnOrders)].filter((f) => f !== undefined)],
          }),
        ).toString('base64');
        if (!first) {
          first = footer;
          firstSchema = schema;
        } else if (schema !== firstSchema) {
          throw new Error(`${file}: its schema differs from ${first.file}'s; only files of one schema can be concatenated`);
        }
        // The data region: everything between the leading magic and the footer.
        const regionEnd = footer.size - 8 - footer.footerLength;
        const delta = BigInt(pos - 4);
        const limit = BigInt(pos + regionEnd - 4);
        for (const g of list(footer.meta, FILE.rowGroups).items as ThriftStruct[]) {
          const columns = (list(g, ROW_GROUP.columns).items as ThriftStruct[]).map((c) => {
            if (field(c, CHUNK.filePath)) throw new Error(`${file}: a column chunk lives in another file`);
            if (field(c, CHUNK.crypto) || field(c, CHUNK.encryptedMeta)) throw new Error(`${file}: encrypted column chunks cannot be concatenated`);
            const moved = shifted(c, [CHUNK.fileOffset, CHUNK.offsetIndexOffset, CHUNK.columnIndexOffset], delta, limit, file);
            return withFields(moved, {
              [CHUNK.metaData]: (old) =>
                old && {
                  ...old,
                  value: shifted(
                    old.value as ThriftStruct,
                    [META.dataPageOffset, META.indexPageOffset, META.dictionaryPageOffset, META.bloomFilterOffset],
                    delta,
                    limit,
                    file,
                  ),
                },
            });
          });
          const ordinal = rowGroups.length;
          rowGroups.push(
            withFields(shifted(g, [ROW_GROUP.fileOffset], delta, limit, file), {
              [ROW_GROUP.columns]: (old) => ({ ...old!, value: { ...(old!.value as ThriftList), items: columns } }),
              [ROW_GROUP.ordinal]: (old) => old && { ...old, value: ordinal },
            }),
          );
        }
        rows += int64(footer.meta, FILE.numRows) ?? 0n;
        for (let at = 4; at < regionEnd; ) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(COPY_CHUNK, regionEnd - at), at);
          if (!bytesRead) throw new Error(`${file}: shorter than its footer says`);
          await out.write(buf, 0, bytesRead, pos);
          pos += bytesRead;
          at += bytesRead;
        }
      } finally {
        await fh.close();
      }
    }
    if (rowGroups.length > 32767) throw new Error(`too many row groups for one file (${rowGroups.length})`);
    const meta = withFields(first!.meta, {
      [FILE.numRows]: (old) => ({ ...old!, value: rows }),
      [FILE.rowGroups]: (old) => ({ ...old!, value: { ...(old!.value as ThriftList), items: rowGroups } }),
    });
    const footer = encodeStruct(meta);
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(footer.length, 0);
    tail.write(MAGIC, 4, 'latin1');
    await out.write(footer, 0, footer.length, pos);
    await out.write(tail, 0, 8, pos + footer.length);
    return { rows: Number(rows), rowGroups: rowGroups.length, bytes: pos + footer.length + 8 };
  } finally {
    await out.close();
  }
}
