// Worker thread that decomposes CMA-ES covariance matrices (eigen.ts is its host).
import { parentPort } from 'node:worker_threads';
import { symmetricEigen } from './cmaes.ts';

parentPort!.on('message', ({ id, n, matrix }: { id: number; n: number; matrix: Float64Array }) => {
  const { values, vectors } = symmetricEigen(n, matrix);
  parentPort!.postMessage({ id, values, vectors }, [values.buffer as ArrayBuffer, vectors.buffer as ArrayBuffer]);
});
