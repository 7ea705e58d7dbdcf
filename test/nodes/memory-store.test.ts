import { MemoryNodeStore } from 'leasehold';
import { nodeStoreContract } from './store-contract.js';

nodeStoreContract('MemoryNodeStore', () => {
  const store = new MemoryNodeStore();
  return Promise.resolve({ store, twin: () => Promise.resolve(store) });
});
