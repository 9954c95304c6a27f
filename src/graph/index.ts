/**
 * Pure DAG algorithms (DESIGN.md, "Layers"): no dependency outside `shared/errors`.
 *
 * @example
 * import { Graph, CycleError } from "../graph/index.js";
 */
export { Graph, type GraphEdge } from "./graph.js";
export { CycleError } from "./errors.js";
