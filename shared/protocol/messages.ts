/**
 * The ACS commands and their messages, in one table. A request is a JSON
 * object with a `command` member; a response names its command in
 * `response`, or is an `{"error":...}` object (errors.ts). Unknown members
 * are ignored, so our extensions stay invisible to IBM peers.
 *
 * Parsed messages hold binary values as Buffers; the wire form (every value
 * a JSON string, binary as lowercase hex) exists only in serialize/parse.
 */
import { ACS_ERROR, AcsError, errorFromResponse } from './errors.js';
import type { JsonObject } from './frame.js';
import {
  type EnrollCertRequest, type EnrollCertResponse, type EnrollRequest, type EnrollResponse,
  parseEnrollCertRequest, parseEnrollCertResponse, parseEnrollRequest, parseEnrollResponse,
  serializeEnrollCertRequest, serializeEnrollCertResponse, serializeEnrollRequest, serializeEnrollResponse,
} from './enroll.js';
import {
  type NonceRequest, type NonceResponse,
  parseNonceRequest, parseNonceResponse, serializeNonceRequest, serializeNonceResponse,
} from './nonce.js';
import {
  DEFAULT_EVENT_LIMITS, type EventLimits, type QuoteRequest, type QuoteResponse,
  parseQuoteRequest, parseQuoteResponse, serializeQuoteRequest, serializeQuoteResponse,
} from './quote.js';

export type { EnrollCertRequest, EnrollCertResponse, EnrollRequest, EnrollResponse } from './enroll.js';
export type { NonceRequest, NonceResponse } from './nonce.js';
export type { EventLimits, QuoteRequest, QuoteResponse } from './quote.js';
export { DEFAULT_EVENT_LIMITS } from './quote.js';

export interface RequestMap {
  enrollrequest: EnrollRequest;
  enrollcert: EnrollCertRequest;
  nonce: NonceRequest;
  quote: QuoteRequest;
}

export interface ResponseMap {
  enrollrequest: EnrollResponse;
  enrollcert: EnrollCertResponse;
  nonce: NonceResponse;
  quote: QuoteResponse;
}

export type Command = keyof RequestMap;
export type Request = RequestMap[Command];

interface Codec<C extends Command> {
  parseRequest(obj: JsonObject, limits: EventLimits): RequestMap[C];
  serializeRequest(req: RequestMap[C]): JsonObject;
  parseResponse(obj: JsonObject): ResponseMap[C];
  serializeResponse(res: ResponseMap[C]): JsonObject;
}

/** A command's four functions, in the order request parse and serialize, then response parse and serialize. */
function codec<C extends Command>(
  parseRequest: Codec<C>['parseRequest'],
  serializeRequest: Codec<C>['serializeRequest'],
  parseResponse: Codec<C>['parseResponse'],
  serializeResponse: Codec<C>['serializeResponse'],
): Codec<C> {
  return { parseRequest, serializeRequest, parseResponse, serializeResponse };
}

const CODECS: { [C in Command]: Codec<C> } = {
  enrollrequest: codec(parseEnrollRequest, serializeEnrollRequest, parseEnrollResponse, serializeEnrollResponse),
  enrollcert: codec(parseEnrollCertRequest, serializeEnrollCertRequest, parseEnrollCertResponse, serializeEnrollCertResponse),
  nonce: codec(parseNonceRequest, serializeNonceRequest, parseNonceResponse, serializeNonceResponse),
  quote: codec(parseQuoteRequest, serializeQuoteRequest, parseQuoteResponse, serializeQuoteResponse),
};

export const COMMANDS = Object.keys(CODECS) as Command[];

export function isCommand(name: string): name is Command {
  return Object.hasOwn(CODECS, name);
}

/**
 * The request's command. IBM's server answers 90000027 both for a payload
 * that is not JSON and for one without a `command` member
 * (fixtures/acs-wire/errors/no-command-key-response.json); an unrecognized
 * command is 90000026.
 */
export function requestCommand(obj: JsonObject): Command {
  const command = Object.hasOwn(obj, 'command') ? obj.command : undefined;
  if (typeof command !== 'string') throw new AcsError(ACS_ERROR.BAD_JSON, 'request has no "command" member');
  if (!isCommand(command)) throw new AcsError(ACS_ERROR.UNKNOWN_CMD, `unknown command "${command.slice(0, 64)}"`);
  return command;
}

/** Validate a request object; throws the AcsError its first fault calls for. */
export function parseRequest(obj: JsonObject, limits: EventLimits = DEFAULT_EVENT_LIMITS): Request {
  const command = requestCommand(obj);
  return (CODECS[command] as Codec<Command>).parseRequest(obj, limits);
}

export function serializeRequest(req: Request): JsonObject {
  return (CODECS[req.command] as Codec<Command>).serializeRequest(req);
}

/**
 * Validate a response to `command`: an error response throws its AcsError, a
 * response for another command or with a bad member throws BAD_VALUE / the
 * member's code.
 */
export function parseResponse<C extends Command>(command: C, obj: JsonObject): ResponseMap[C] {
  const refused = errorFromResponse(obj);
  if (refused) throw refused;
  if (obj.response !== command) {
    throw new AcsError(ACS_ERROR.BAD_VALUE, `expected a "${command}" response`);
  }
  return CODECS[command].parseResponse(obj);
}

export function serializeResponse<C extends Command>(command: C, res: ResponseMap[C]): JsonObject {
  return CODECS[command].serializeResponse(res);
}
