// The storage conformance suite on the in-memory driver.

import { MemoryStorage } from '../../src/storage/memory/memory-storage.js';
import { storageConformanceSuite } from './storage-suite.js';

storageConformanceSuite('memory', async () => ({ storage: new MemoryStorage(), cleanup: async () => undefined }));
