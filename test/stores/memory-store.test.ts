/** The reference adapter against the Store conformance suite. */
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { storeConformanceSuite } from "../conformance/store.suite.js";

storeConformanceSuite("MemoryStore", async () => new MemoryStore());
