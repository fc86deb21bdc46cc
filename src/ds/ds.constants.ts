/** DI tokens of the Durable Streams feature. */
export const DS_HTTP = Symbol('DS_HTTP');
