import { hash } from 'node:crypto';
import { SyntheticImaLog, imaBinaryLog } from './dist/test/bench/ima-log.js';
import { SoftwarePcrBanks } from './dist/client/simulator/pcr-banks.js';
import { iterateImaBinaryLog, parseImaBinaryLog } from './dist/shared/eventlog/ima/event.js';
import { ImaReplayer } from './dist/shared/eventlog/ima/replay.js';
import { measureRate } from './dist/test/bench/floor.js';
const pcrs = new SoftwarePcrBanks();
const log = new SyntheticImaLog({ templateHashAlg: 'sha1', template: 'ima-ng', signEvery: 0 }, pcrs, 'probe');
log.measureBootAggregate(); log.measureFiles(4999);
const bin = imaBinaryLog(log.held()); const N = 5000;
const events = parseImaBinaryLog(bin, { templateHashAlg: 'sha1' });
const sample = events[100].templateData;
const pcr = Buffer.alloc(64);
const into = (d, at) => { for (let i = 0; i < d.length; i++) pcr[at + i] = d.charCodeAt(i); };
const r = (name, f) => console.log(name.padEnd(40), Math.round(1e9 / measureRate(N, 600, f)), 'ns/entry');
for (let k = 0; k < 2; k++) {
r('floor, one sample buffer', () => { for (let i = 0; i < N; i++) { hash('sha1', sample, 'binary'); into(hash('sha256', sample, 'binary'), 32); into(hash('sha256', pcr, 'binary'), 0); } });
r('floor over the events\' views', () => { for (const ev of events) { const d = ev.templateData; hash('sha1', d, 'binary'); into(hash('sha256', d, 'binary'), 32); into(hash('sha256', pcr, 'binary'), 0); } });
r('parse only', () => { for (const ev of iterateImaBinaryLog(bin, { templateHashAlg: 'sha1' })) if (ev.pcrIndex !== 10) throw 1; });
r('replay pre-parsed', () => { const rp = new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha256'] }); for (const ev of events) if (rp.extend(ev) !== 'ok') throw 2; });
r('parse + replay', () => { const rp = new ImaReplayer({ templateHashAlg: 'sha1', banks: ['sha256'] }); for (const ev of iterateImaBinaryLog(bin, { templateHashAlg: 'sha1' })) if (rp.extend(ev) !== 'ok') throw 2; });
}
