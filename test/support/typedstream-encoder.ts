// Test support: the body encoder lives with the simulated Messages (relay/simulator), which the
// demo uses too; tests import it from here.
export { encodeAttributedBody, type RunSpec } from '../../relay/simulator/typedstream-writer.js';
