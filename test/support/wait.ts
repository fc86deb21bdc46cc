/** The test tree's handle on the one wait helper (see libs/contracts/src/testing/wait.ts). */
export {
  sleep,
  waitFor,
  WaitTimeoutError,
  type Truthy,
  type WaitForOptions,
} from '../../libs/contracts/src/testing/wait.js';
