import t from 'tap';
import { ACS_ERROR, AcsError, describeError, errorResponse, formatErrorCode } from '../../shared/protocol/errors.js';
import { decodePayload, type JsonObject } from '../../shared/protocol/frame.js';
import {
  type Command, type QuoteRequest, COMMANDS, parseRequest, parseResponse, serializeRequest, serializeResponse,
} from '../../shared/protocol/messages.js';
import { loadWireFixtures, readWireJson } from '../helpers/acs-wire.js';

const fixtures = loadWireFixtures();
const requests = fixtures.filter((f) => f.kind === 'request');

/** Codes decided by validation alone; the others come from handlers (state, crypto, database). */
const VALIDATION_CODES = new Set<number>([ACS_ERROR.JSON_KEY, ACS_ERROR.HEXASCII, ACS_ERROR.UNKNOWN_CMD, ACS_ERROR.BAD_JSON]);

function ibmAnswerFor(requestName: string): JsonObject | undefined {
  const f = fixtures.find((x) => x.name === requestName.replace(/-request$/, '-response'));
  return f?.json;
}

function code(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof AcsError) return err.code;
    throw err;
  }
}

t.test('error codes: distinct, 8 lowercase hex digits as IBM writes them', async (t) => {
  const values = Object.values(ACS_ERROR);
  t.equal(new Set(values).size, values.length, 'no code used twice');
  for (const f of fixtures.filter((x) => 'error' in x.json)) {
    const c = parseInt(f.json.error as string, 16);
    t.same(errorResponse(c), f.json, `${f.name} re-encoded exactly`);
  }
  t.equal(formatErrorCode(ACS_ERROR.NONCE_MISSING), '9000001b');
  t.equal(describeError(ACS_ERROR.NOT_ENROLLED), 'hostname not enrolled');
  t.match(describeError(0x9000abcd), /client error 9000abcd/);
  t.match(describeError(0x8000abcd), /server error 8000abcd/);
  t.equal(new AcsError(0x90000022).message, 'hostname already enrolled');
});

t.test('every IBM request fixture validates, or fails with the code IBM answered', async (t) => {
  t.ok(requests.length >= 20, `${requests.length} requests`);
  for (const f of requests) {
    const ibm = ibmAnswerFor(f.name);
    const ibmCode = ibm && typeof ibm.error === 'string' ? parseInt(ibm.error, 16) : undefined;
    const ours = code(() => parseRequest(f.json));
    if (ibmCode !== undefined && VALIDATION_CODES.has(ibmCode)) {
      t.equal(ours !== undefined ? formatErrorCode(ours) : 'accepted', formatErrorCode(ibmCode), `${f.name}: IBM's code`);
    } else {
      t.equal(ours, undefined, `${f.name} accepted`);
    }
  }
});

t.test('the validation-error fixtures are all covered', async (t) => {
  const seen = requests
    .map((f) => ibmAnswerFor(f.name)?.error)
    .filter((e): e is string => typeof e === 'string' && VALIDATION_CODES.has(parseInt(e, 16)));
  t.same([...new Set(seen)].sort(), ['90000005', '90000006', '90000026', '90000027']);
});

t.test('serializeRequest reproduces IBM requests member for member, in IBM order', async (t) => {
  for (const f of requests) {
    if (code(() => parseRequest(f.json)) !== undefined) continue;
    const again = serializeRequest(parseRequest(f.json));
    t.equal(JSON.stringify(again), JSON.stringify(f.json), f.name);
  }
});

t.test('every IBM response fixture validates and re-serializes; error responses throw their code', async (t) => {
  for (const f of fixtures.filter((x) => x.kind === 'response')) {
    if (typeof f.json.error === 'string') {
      const err = t.throws(() => parseResponse('nonce', f.json)) as AcsError;
      t.equal(formatErrorCode(err.code), f.json.error, `${f.name} code`);
      continue;
    }
    const command = f.json.response as Command;
    t.ok(COMMANDS.includes(command), `${f.name} names a command`);
    const parsed = parseResponse(command, f.json);
    t.same(serializeResponse(command, parsed), f.json, `${f.name} round trip`);
  }
  const nonce = parseResponse('nonce', readWireJson('nonce-response-incremental.json'));
  t.equal(nonce.biosentry, -1);
  t.equal(nonce.imaentry, 1083);
  t.equal(nonce.pcrselect.toString('hex'), '00000002000b03ff0700000403000000');
  t.throws(() => parseResponse('quote', readWireJson('nonce-response.json')), { code: ACS_ERROR.BAD_VALUE });
});

t.test('full IBM quote: 27 firmware events, 1083 IMA events from 0, SHA-1 template hashes', async (t) => {
  const json = readWireJson('quote-request-full.json');
  const q = parseRequest(json) as QuoteRequest;
  t.equal(q.events.length, 27);
  t.equal(q.imaevents.length, 1083);
  t.equal(q.imaentry, 0);
  t.equal(q.templatehashalg, 0x0004);
  t.equal(q.events[26].toString('hex'), json.event26);
  t.equal(q.imaevents[1082].toString('hex'), json.imaevent1082);
  t.equal(q.quoted.subarray(0, 6).toString('hex'), 'ff5443478018', 'TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE');

  const inc = parseRequest(readWireJson('quote-request-incremental.json')) as QuoteRequest;
  t.equal(inc.events.length, 0);
  t.equal(inc.imaevents.length, 0);
  t.equal(inc.imaentry, undefined);
});

const nonceReq = (): JsonObject => ({ ...readWireJson('nonce-request.json') });
const quoteReq = (): JsonObject => ({ ...readWireJson('quote-request-incremental.json') });

t.test('hex: upper case accepted; odd length, non-hex, empty refused with 90000006', async (t) => {
  const q = quoteReq();
  const upper = parseRequest({ ...q, quoted: (q.quoted as string).toUpperCase() }) as QuoteRequest;
  t.equal(upper.quoted.toString('hex'), q.quoted);
  for (const bad of ['abc', 'zz', '0g', '', ' 00', '00 ', '0x00']) {
    t.equal(code(() => parseRequest({ ...q, signature: bad })), ACS_ERROR.HEXASCII, JSON.stringify(bad));
  }
  t.equal(code(() => parseRequest({ ...q, event0: 'xy' })), ACS_ERROR.HEXASCII, 'event hex');
  t.equal(code(() => parseRequest({ ...q, templatehashalg: '0b' })), ACS_ERROR.BAD_VALUE, 'templatehashalg 1 byte');
  t.equal((parseRequest({ ...q, templatehashalg: '000B' }) as QuoteRequest).templatehashalg, 0x000b);
});

t.test('members: strings only; null is missing; hostname a DNS name, returned in normal form', async (t) => {
  t.equal(code(() => parseRequest({ ...nonceReq(), boottime: null })), ACS_ERROR.JSON_KEY);
  t.equal(code(() => parseRequest({ ...nonceReq(), userid: 7 })), ACS_ERROR.BAD_VALUE);
  t.equal(code(() => parseRequest({ ...nonceReq(), userid: 'root\ud800' })), ACS_ERROR.BAD_VALUE, 'a lone surrogate');
  t.equal(code(() => parseRequest({ ...nonceReq(), userid: 'r\u00f6\u{1f600}t' })), undefined, 'any real characters');
  t.equal(code(() => parseRequest({ ...nonceReq(), hostname: ['a'] })), ACS_ERROR.BAD_VALUE);
  for (const hostname of ['', 'h'.repeat(254), "x'; DROP TABLE machines; --", '<script>alert(1)</script>', 'hôte 测试', 'a\u0000b', 'a\r\nb']) {
    t.equal(code(() => parseRequest({ ...nonceReq(), hostname })), ACS_ERROR.BAD_HOSTNAME, JSON.stringify(hostname));
  }
  t.equal(parseRequest({ ...nonceReq(), hostname: 'HostA.Example.' }).hostname, 'hosta.example');
  for (const command of [readWireJson('enroll-request.json'), readWireJson('enrollcert-request.json'), readWireJson('quote-request-full.json')]) {
    t.equal(code(() => parseRequest({ ...command, hostname: 'bad host' })), ACS_ERROR.BAD_HOSTNAME, `${String(command.command)} checks its hostname`);
  }
  t.equal(code(() => parseRequest({ ...nonceReq(), command: 5 })), ACS_ERROR.BAD_JSON);
  t.equal(code(() => parseRequest({ ...nonceReq(), command: 'toString' })), ACS_ERROR.UNKNOWN_CMD);
  t.equal(code(() => parseRequest(JSON.parse('{"__proto__":{"command":"nonce"}}') as JsonObject)), ACS_ERROR.BAD_JSON);
  t.same(Object.keys(parseRequest({ ...nonceReq(), extension: 'ignored' })).sort(), ['boottime', 'command', 'hostname', 'userid']);
});

t.test('nonce boottime must be a real time "YYYY-MM-DD HH:MM:SS" the stores keep', async (t) => {
  for (const ok of ['2026-11-24 18:29:15', '1970-01-01 00:00:00', '2024-02-29 23:59:59', '1000-01-01 00:00:00', '9999-12-31 23:59:59']) {
    t.equal(code(() => parseRequest({ ...nonceReq(), boottime: ok })), undefined, ok);
  }
  for (const bad of [
    '2026-11-24T18:29:15', '2026-13-01 00:00:00', '2026-11-24 24:00:00', '2026-11-24 18:29', ' 2026-11-24 18:29:15', '2026-11-24 18:29:15\n',
    '2026-02-31 00:00:00', '2025-02-29 00:00:00', '2026-04-31 00:00:00', '2026-01-00 00:00:00', '2026-00-10 00:00:00',
    '0000-01-01 00:00:00', '0999-12-31 23:59:59', '2026-11-24 00:00:60', '2016-12-31 23:59:60', '2026-11-24 00:60:00',
  ]) {
    t.equal(code(() => parseRequest({ ...nonceReq(), boottime: bad })), ACS_ERROR.BAD_VALUE, JSON.stringify(bad));
  }
});

t.test('enrollrequest: tpmvendor 1-4 printable ASCII; optional intermediatecert is hex', async (t) => {
  const e = readWireJson('enroll-request.json');
  t.equal(code(() => parseRequest({ ...e, tpmvendor: 'IFX' })), undefined);
  t.equal(code(() => parseRequest({ ...e, tpmvendor: 'TOOLONG' })), ACS_ERROR.BAD_VALUE);
  t.equal(code(() => parseRequest({ ...e, tpmvendor: 'a\u0001' })), ACS_ERROR.BAD_VALUE);
  t.equal(code(() => parseRequest({ ...e, intermediatecert: 'q' })), ACS_ERROR.HEXASCII);
  const withInt = parseRequest({ ...e, intermediatecert: '3082' });
  t.equal(withInt.command === 'enrollrequest' && withInt.intermediatecert?.toString('hex'), '3082');
  t.equal(code(() => parseRequest({ ...e, akpub: undefined })), ACS_ERROR.JSON_KEY);
});

function withEvents(fw: number[], ima: number[]): JsonObject {
  const obj = quoteReq();
  for (const i of fw) obj[`event${i}`] = '0102';
  for (const i of ima) obj[`imaevent${i}`] = 'aabb';
  return obj;
}

t.test('events: contiguous from event0; imaevents contiguous from the first index', async (t) => {
  const ok = parseRequest(withEvents([2, 0, 1], [1085, 1083, 1084])) as QuoteRequest;
  t.equal(ok.events.length, 3);
  t.equal(ok.imaentry, 1083);
  t.equal(ok.imaevents.length, 3);

  t.equal(code(() => parseRequest(withEvents([0, 1, 3], []))), ACS_ERROR.EVENT_SEQUENCE, 'gap');
  t.equal(code(() => parseRequest(withEvents([1, 2], []))), ACS_ERROR.EVENT_SEQUENCE, 'no event0');
  t.equal(code(() => parseRequest(withEvents([], [5, 7]))), ACS_ERROR.EVENT_SEQUENCE, 'IMA gap');
  t.equal(code(() => parseRequest(withEvents([], [4294967296]))), ACS_ERROR.BAD_VALUE, 'IMA index over 32 bits');

  // Non-canonical names are unknown members, ignored like any extension.
  const odd = withEvents([0], []);
  odd.event01 = 'zz';
  odd['event-1'] = 'zz';
  odd.eventx = 'zz';
  odd.imaevent = 'zz';
  t.equal((parseRequest(odd) as QuoteRequest).events.length, 1);

  t.equal(code(() => parseRequest({ ...withEvents([0], []), event0: 5 })), ACS_ERROR.BAD_VALUE, 'event not a string');

  const round = serializeRequest(ok);
  t.same(Object.keys(round).filter((k) => k.includes('event')), ['event0', 'event1', 'event2', 'imaevent1083', 'imaevent1084', 'imaevent1085']);
});

t.test('event caps: count and size refused before decoding', async (t) => {
  const limits = { maxEvents: 4, maxImaEvents: 3, maxEventBytes: 2 };
  t.equal(code(() => parseRequest(withEvents([0, 1, 2, 3], [0, 1, 2]), limits)), undefined, 'at the caps');
  t.equal(code(() => parseRequest(withEvents([0, 1, 2, 3, 4], []), limits)), ACS_ERROR.TOO_MANY_EVENTS);
  t.equal(code(() => parseRequest(withEvents([], [0, 1, 2, 3]), limits)), ACS_ERROR.TOO_MANY_EVENTS);
  t.equal(code(() => parseRequest(withEvents([99999999], []), limits)), ACS_ERROR.TOO_MANY_EVENTS, 'huge index');
  t.equal(code(() => parseRequest({ ...withEvents([0], []), event0: '010203' }, limits)), ACS_ERROR.EVENT_TOO_LARGE);
  t.equal(code(() => parseRequest({ ...withEvents([], [7]), imaevent7: 'zz'.repeat(3) }, limits)), ACS_ERROR.EVENT_TOO_LARGE,
    'size checked before hex');
});

t.test('100k IMA events validate in linear time', async (t) => {
  const build = (n: number): JsonObject => withEvents([], Array.from({ length: n }, (_, i) => n - 1 - i + 5000));
  const time = (obj: JsonObject): number => {
    const t0 = performance.now();
    const q = parseRequest(obj) as QuoteRequest;
    if (q.imaevents.length !== Object.keys(obj).length - 5) throw new Error('wrong count');
    return performance.now() - t0;
  };
  const small = build(10_000);
  const large = build(100_000);
  time(small);
  const tSmall = time(small);
  const tLarge = time(large);
  t.ok(tLarge < 2000, `100k events in ${tLarge.toFixed(0)} ms`);
  t.ok(tLarge < tSmall * 40 + 50, `10x events took ${(tLarge / tSmall).toFixed(1)}x as long`);
  t.equal(code(() => parseRequest({ ...large, imaevent105000: 'aa' })), ACS_ERROR.TOO_MANY_EVENTS, 'default cap 100000');
});

t.test('mutated IBM requests never escape as anything but AcsError', async (t) => {
  let s = 12345;
  const rand = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  const seeds = requests.filter((f) => f.frame.length < 4000).map((f) => f.frame.subarray(4, f.frame.length - 1));
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = Buffer.from(seeds[rand(seeds.length)]);
    for (let m = 1 + rand(4); m > 0; m--) bytes[rand(bytes.length)] = rand(256);
    try {
      parseRequest(decodePayload(bytes));
      accepted++;
    } catch (err) {
      if (!(err instanceof AcsError)) t.fail(`untyped ${String(err)} for ${bytes.toString('latin1')}`);
    }
  }
  t.pass(`${accepted} of 3000 mutations still valid`);
});
