/** Makes writes under `dir` fail with ENOSPC after `afterBytes` bytes (see writeFaults.cjs); returns the undo. */
export declare function installWriteFaults(opts: { dir: string; afterBytes?: number; strict?: boolean }): () => void;
