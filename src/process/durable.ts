// Durable time and values from the facade: inside a workflow, on the engine running it, checkpointed (a replay sleeps
// only what is left, and sees the first run's values); elsewhere, plain.

import { builtinSteps, durableSleep } from '../runtime/steps.js';
import { checkSleepMs } from '../validation.js';
import { executorHere } from './state.js';

export function sleepms(ms: number): Promise<void> {
  try {
    checkSleepMs('The sleep duration', ms);
  } catch (err) {
    return Promise.reject(err);
  }
  const executor = executorHere();
  if (!executor) return new Promise((r) => setTimeout(r, Math.max(0, ms)));
  return durableSleep(executor, ms);
}

export function now(): Promise<number> {
  const executor = executorHere();
  return executor ? builtinSteps.now(executor) : Promise.resolve(Date.now());
}

export function randomUUID(): Promise<string> {
  const executor = executorHere();
  return executor ? builtinSteps.randomUUID(executor) : Promise.resolve(crypto.randomUUID());
}
