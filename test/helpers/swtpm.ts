/** Real provisioned swtpm processes for tests (see client/simulator/swtpm-process.ts). */
export { startSwtpm, SwtpmStartError, type Swtpm, type SwtpmOptions } from '../../client/simulator/swtpm-process.js';
