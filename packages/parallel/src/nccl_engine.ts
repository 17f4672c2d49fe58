/** placeholder replaced below */
import type { Engine } from './engine.js';
import type { TcpStore } from './store/client.js';
/** @internal */
export interface NcclEngineOptions { store: TcpStore; name: string; rank: number; size: number; ranks: number[]; timeoutMs: number }
/** @internal */
export async function createNcclEngine(_o: NcclEngineOptions): Promise<Engine> {
  throw new Error('nccl: not built yet');
}
