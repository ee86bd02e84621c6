// `using` / `await using` need these symbols; Node before 20.4 lacks them.
// Symbol.for keeps every copy of this package (and Node's own polyfill) in agreement.
const symbols = Symbol as { dispose?: symbol; asyncDispose?: symbol };
if (symbols.dispose === undefined)
  Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('nodejs.dispose') });
if (symbols.asyncDispose === undefined)
  Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('nodejs.asyncDispose') });

export {};
