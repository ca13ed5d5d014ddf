/**
 * A lossless reader and writer of Thrift's compact protocol, the encoding of a Parquet footer.
 *
 * It knows no Parquet types: a struct is a list of (field id, wire type, value), so whatever a
 * writer put in a footer (fields newer than this code included) is written back unchanged, and a
 * caller edits only the fields it names. Used to concatenate Parquet files row group by row group
 * (`concat.ts`), which only moves byte offsets.
 */

export const enum WireType {
  True = 1,
  False = 2,
  Byte = 3,
  I16 = 4,
  I32 = 5,
  I64 = 6,
  Double = 7,
  Binary = 8,
  List = 9,
  Set = 10,
  Map = 11,
  Struct = 12,
  Uuid = 13,
}

export type ThriftValue = boolean | number | bigint | Uint8Array | ThriftStruct | ThriftList | ThriftMap;
export interface ThriftField {
  id: number;
  type: WireType;
  value: ThriftValue;
}
export interface ThriftStruct {
  kind: 'struct';
  fields: ThriftField[];
}
export interface ThriftList {
  kind: 'list';
  /** List or Set. */
  wire: WireType.List | WireType.Set;
  elementType: WireType;
  items: ThriftValue[];
}
export interface ThriftMap {
  kind: 'map';
  keyType: WireType;
  valueType: WireType;
  entries: [ThriftValue, ThriftValue][];
}

/** Decodes one struct starting at `offset`; `end` is where it stopped. */
export function decodeStruct(bytes: Uint8Array, offset = 0): { struct: ThriftStruct; end: number } {
  let pos = offset;
  const fail = (what: string): never => {
    throw new Error(`malformed Thrift compact data at byte ${pos}: ${what}`);
  };
  const byte = () => {
    if (pos >= bytes.length) fail('unexpected end');
    return bytes[pos++]!;
  };
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = byte();
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) fail('varint too long');
    }
  };
  const zigzag = (): bigint => {
    const v = varint();
    return (v >> 1n) ^ -(v & 1n);
  };
  const value = (type: WireType): ThriftValue => {
    switch (type) {
      case WireType.True:
      case WireType.False:
        // Inside a list a bool is a byte of its own (1 true; 2 or 0 false): kept as that byte.
        return byte();
      case WireType.Byte:
        return (byte() << 24) >> 24;
      case WireType.I16:
      case WireType.I32:
        return Number(zigzag());
      case WireType.I64:
        return zigzag();
      case WireType.Double: {
        if (pos + 8 > bytes.length) fail('unexpected end');
        const v = new DataView(bytes.buffer, bytes.byteOffset + pos, 8).getFloat64(0, true);
        pos += 8;
        return v;
      }
      case WireType.Binary: {
        const n = Number(varint());
        if (pos + n > bytes.length) fail('binary runs past the end');
        const v = bytes.slice(pos, pos + n);
        pos += n;
        return v;
      }
      case WireType.Uuid: {
        if (pos + 16 > bytes.length) fail('unexpected end');
        const v = bytes.slice(pos, pos + 16);
        pos += 16;
        return v;
      }
      case WireType.List:
      case WireType.Set: {
        const header = byte();
        const elementType = (header & 0x0f) as WireType;
        const size = header >> 4 === 15 ? Number(varint()) : header >> 4;
        const items: ThriftValue[] = [];
        for (let i = 0; i < size; i++) items.push(value(elementType));
        return { kind: 'list', wire: type, elementType, items };
      }
      case WireType.Map: {
        const size = Number(varint());
        if (size === 0) return { kind: 'map', keyType: WireType.Binary, valueType: WireType.Binary, entries: [] };
        const kv = byte();
        const keyType = (kv >> 4) as WireType;
        const valueType = (kv & 0x0f) as WireType;
        const entries: [ThriftValue, ThriftValue][] = [];
        for (let i = 0; i < size; i++) entries.push([value(keyType), value(valueType)]);
        return { kind: 'map', keyType, valueType, entries };
      }
      case WireType.Struct:
        return struct();
      default:
        return fail(`unknown wire type ${type}`);
    }
  };
  const struct = (): ThriftStruct => {
    const fields: ThriftField[] = [];
    let last = 0;
    for (;;) {
      const header = byte();
      if (header === 0) return { kind: 'struct', fields };
      const type = (header & 0x0f) as WireType;
      const delta = header >> 4;
      const id = delta ? last + delta : Number(zigzag());
      last = id;
      // A bool field carries its value in the type nibble.
      const v = type === WireType.True || type === WireType.False ? type === WireType.True : value(type);
      fields.push({ id, type, value: v });
    }
  };
  const s = struct();
  return { struct: s, end: pos };
}

/** Encodes a struct (as `decodeStruct` gives it) back to compact-protocol bytes. */
export function encodeStruct(s: ThriftStruct): Uint8Array {
  const out: number[] = [];
  const varint = (v: bigint) => {
    let x = v;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      out.push(b);
    } while (x);
  };
  const zigzag = (v: bigint) => varint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  const value = (type: WireType, v: ThriftValue) => {
    switch (type) {
      case WireType.True:
      case WireType.False:
        out.push(v as number);
        return;
      case WireType.Byte:
        out.push((v as number) & 0xff);
        return;
      case WireType.I16:
      case WireType.I32:
        zigzag(BigInt(v as number));
        return;
      case WireType.I64:
        zigzag(typeof v === 'bigint' ? v : BigInt(v as number));
        return;
      case WireType.Double: {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, v as number, true);
        out.push(...b);
        return;
      }
      case WireType.Binary:
        varint(BigInt((v as Uint8Array).length));
        for (const b of v as Uint8Array) out.push(b);
        return;
      case WireType.Uuid:
        for (const b of v as Uint8Array) out.push(b);
        return;
      case WireType.List:
      case WireType.Set: {
        const l = v as ThriftList;
        if (l.items.length < 15) out.push((l.items.length << 4) | l.elementType);
        else {
          out.push(0xf0 | l.elementType);
          varint(BigInt(l.items.length));
        }
        for (const item of l.items) value(l.elementType, item);
        return;
      }
      case WireType.Map: {
        const m = v as ThriftMap;
        varint(BigInt(m.entries.length));
        if (!m.entries.length) return;
        out.push((m.keyType << 4) | m.valueType);
        for (const [k, x] of m.entries) {
          value(m.keyType, k);
          value(m.valueType, x);
        }
        return;
      }
      case WireType.Struct:
        struct(v as ThriftStruct);
        return;
      default:
        throw new Error(`cannot encode wire type ${type}`);
    }
  };
  const struct = (st: ThriftStruct) => {
    let last = 0;
    for (const f of st.fields) {
      const isBool = f.type === WireType.True || f.type === WireType.False;
      const type = isBool ? (f.value ? WireType.True : WireType.False) : f.type;
      const delta = f.id - last;
      if (delta > 0 && delta <= 15) out.push((delta << 4) | type);
      else {
        out.push(type);
        zigzag(BigInt(f.id));
      }
      last = f.id;
      if (!isBool) value(f.type, f.value);
    }
    out.push(0);
  };
  struct(s);
  return Uint8Array.from(out);
}

/** The field `id` of `s`, or undefined. */
export const field = (s: ThriftStruct, id: number): ThriftField | undefined => s.fields.find((f) => f.id === id);
