/** History helpers for agents that continue after an answer: @jobstream/worker's. */
export { countIn, requestsIn, tokenTextIn, tokensCoveredIn, toolCallEnded, type AskedRequest } from '@jobstream/worker';
