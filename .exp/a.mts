import { PDFDocument, StandardFonts } from 'pdf-lib';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { DuckDBEngine } from '/work/wt-exports/functions/lib/engine/duckdb';
async function pdf() {
  const doc = await PDFDocument.create();
  doc.setCreationDate(new Date('2026-11-01T00:00:00Z')); doc.setModificationDate(new Date('2026-11-01T00:00:00Z'));
  doc.setProducer('cclake'); doc.setCreator('cclake');
  const f = await doc.embedFont(StandardFonts.Helvetica);
  const p = doc.addPage(); p.drawText('hello', { x: 50, y: 700, font: f, size: 12 });
  return doc.save();
}
const h = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const a = await pdf(); await new Promise(r => setTimeout(r, 1100)); const b = await pdf();
console.log('pdf same', h(a) === h(b), a.length);
// decimal
const n = 3; const words = new Uint32Array(4 * n);
const vals = [1234n, -5n, 10n**20n];
vals.forEach((v, i) => { let x = BigInt.asUintN(128, v); for (let w = 0; w < 4; w++) { words[4*i+w] = Number(x & 0xffffffffn); x >>= 32n; } });
const type = new arrow.Decimal(2, 38, 128);
const data = arrow.makeData({ type, length: n, nullCount: 0, data: words });
const schema = new arrow.Schema([new arrow.Field('c', type, true)]);
const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, nullCount: 0, children: [data] });
const t = new arrow.Table(schema, new arrow.RecordBatch(schema, struct));
const bytes = pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(t, 'stream')), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build());
const bytes2 = pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(t, 'stream')), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build());
console.log('pq same', h(bytes) === h(bytes2));
writeFileSync('/tmp/exp/d.parquet', bytes);
const e = await DuckDBEngine.open();
console.log(await e.query(`SELECT c, typeof(c) t, CAST(c AS VARCHAR) s FROM read_parquet('/tmp/exp/d.parquet')`));
const back = arrow.tableFromIPC(pq.readParquet(bytes).intoIPCStream());
console.log(back.schema.fields[0].type.toString(), back.getChild('c')!.get(0), String(back.getChild('c')!.get(1)));
e.close();
