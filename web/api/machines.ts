/** GET /api/machines, /api/machines/:hostname */
import { jsonResponse, stateOptions, type Handler } from '../context.js';
import { machineDetailJson, machineJson } from '../json.js';
import { loadMachineDetail } from '../model/machine.js';

export const apiMachines: Handler = async ({ ctx, query }) => {
  const state = query.machineState();
  const machines = await ctx.data.machines({ ...stateOptions(ctx), state });
  return jsonResponse({ items: machines.map(machineJson) });
};

export const apiMachine: Handler = async ({ ctx, params }) => {
  return jsonResponse(machineDetailJson(await loadMachineDetail(ctx, params.hostname!)));
};
