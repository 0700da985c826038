// The inventory: which clusters and nodes exist, how to reach them, and their variables.
export { loadInventory, hostVars, type LoadInventoryOptions } from './load.js';
export { loadInventoryWithApiNodes } from './api-nodes.js';
export { selectHosts, splitPattern, type HostSelection } from './patterns.js';
export { inventoryList, inventoryGraph } from './display.js';
export { LOCALHOST } from './build.js';
export type * from './types.js';
