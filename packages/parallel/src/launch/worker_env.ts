/**
 * The environment of one worker process started by the launcher: torchrun's variables (`RANK`,
 * `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`, `GROUP_RANK`, `ROLE_*`, `MASTER_ADDR`,
 * `MASTER_PORT`), which {@link initProcessGroup}'s `env://` init reads.
 */

/** Where a worker sits in the job. */
export interface WorkerPlace {
  /** Index of the worker on its node, `0 … nprocPerNode−1`. */
  localRank: number;
  /** Workers per node. */
  nprocPerNode: number;
  /** Index of this node, `0 … nnodes−1`. */
  nodeRank: number;
  /** Nodes in the job. */
  nnodes: number;
  /** Address of node 0 (the rendezvous store). */
  masterAddr: string;
  /** Port of the rendezvous store on node 0. */
  masterPort: number;
}

/**
 * The variables a worker gets, on top of the launcher's own environment. Ranks are node-major:
 * `RANK = nodeRank·nprocPerNode + localRank` (as torchrun with a static rendezvous).
 * @param p - the worker's place in the job
 * @returns the variables (strings), e.g. `{ RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1', … }`
 */
export function workerEnv(p: WorkerPlace): Record<string, string> {
  const rank = p.nodeRank * p.nprocPerNode + p.localRank;
  const world = p.nnodes * p.nprocPerNode;
  return {
    RANK: String(rank),
    WORLD_SIZE: String(world),
    LOCAL_RANK: String(p.localRank),
    LOCAL_WORLD_SIZE: String(p.nprocPerNode),
    GROUP_RANK: String(p.nodeRank),
    GROUP_WORLD_SIZE: String(p.nnodes),
    ROLE_NAME: 'default',
    ROLE_RANK: String(rank),
    ROLE_WORLD_SIZE: String(world),
    MASTER_ADDR: p.masterAddr,
    MASTER_PORT: String(p.masterPort),
    FALCON_LAUNCHED: '1',
  };
}
