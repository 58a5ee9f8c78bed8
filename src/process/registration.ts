// Registering workflows and steps (DBOS.registerWorkflow, @DBOS.workflow(), DBOS.registerStep, @DBOS.step(),
// DBOS.runStep): each is checked where it is declared, recorded in this process's registry, and replaced by a wrapper
// that runs it durably on the engine serving the call.

import { ConfiguredInstance } from '../configured-instance.js';
import { classOf, dualMethodDecorator, type DualMethodDecorator } from '../decorators.js';
import { DBOSError } from '../errors.js';
import * as info from '../registry-info.js';
import type { StartOptions } from '../runtime/executor.js';
import { checkpointedResult } from '../runtime/handle.js';
import type { AnyFunction, RegisteredWorkflow, RegisterWorkflowOptions, StepConfig, WorkflowConfig } from '../runtime/registry.js';
import { runStep as runStepIn } from '../runtime/steps.js';
import { checkClassName, checkFunctionName, checkStepConfig } from '../validation.js';
import { engine, executorHere, registry } from './state.js';

export function registerWorkflow(fn: AnyFunction, options: RegisterWorkflowOptions): AnyFunction {
  const { name, className, ctorOrProto, ...workflowConfig } = options;
  const owner = ctorOrProto ? classOf(ctorOrProto) : undefined;
  const reg = registration(name ?? fn.name, fn, workflowConfig, className ?? owner?.name ?? '');
  reg.thisArg = owner?.isStatic ? ctorOrProto : undefined;
  reg.instanceMethod = owner ? !owner.isStatic : false;
  if (!reg.name) throw new DBOSError('registerWorkflow needs a named function or a name option');
  checkFunctionName('workflow name', reg.name);
  if (reg.className) checkClassName('class name', reg.className);
  info.ensureRegistrationOpen(`Workflow ${reg.className ? `${reg.className}.` : ''}${reg.name}`);
  registry.add(reg);
  info.noteWorkflow(reg, { ctorOrProto, className });
  return reg.wrapper;
}

/** `@DBOS.workflow()`: works with legacy experimentalDecorators and with standard decorators. */
export function workflowDecorator(workflowConfig: WorkflowConfig): DualMethodDecorator {
  let reg: RegisteredWorkflow | undefined;
  return dualMethodDecorator(
    (method) => {
      reg = registration(workflowConfig.name ?? method.name, method.fn, workflowConfig, '');
      checkFunctionName('workflow name', reg.name);
      info.noteWorkflow(reg);
      return reg.wrapper;
    },
    (method, owner) => {
      const cls = classOf(owner);
      info.ensureBindingOpen(`Workflow ${cls.name ? `${cls.name}.` : ''}${reg!.name}`, owner);
      info.placeRegistered(method.fn, owner);
      reg!.className = cls.name;
      reg!.thisArg = cls.isStatic ? owner : undefined;
      reg!.instanceMethod = !cls.isStatic;
      registry.add(reg!);
      // Compilers that lower standard decorators (esbuild, so tsx) run initializers while the class still has a
      // temporary name, and give it its real name when the definition ends: record the name it ends up with.
      queueMicrotask(() => {
        const final = classOf(owner).name;
        if (final === reg!.className) return;
        const provisional = reg!.className;
        reg!.className = final;
        registry.rekey(reg!, provisional);
      });
    },
  );
}

/** A registration with its wrapper: calling a workflow function is starting it and waiting for its result. */
function registration(name: string, fn: AnyFunction, config: WorkflowConfig, className: string): RegisteredWorkflow {
  const reg: RegisteredWorkflow = { name, className, fn, thisArg: undefined, config, wrapper: fn };
  const wrapper = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    // Inside a workflow both the start and the wait are checkpointed.
    const executor = engine(`Calling workflow ${reg.name}`);
    return checkpointedResult(executor, executor.start(reg, args, instanceOption(reg, this)));
  };
  Object.defineProperty(wrapper, 'name', { value: name });
  reg.wrapper = wrapper;
  return reg;
}

/** @internal `this` of an instance workflow's call, when it is a configured instance (the executor rejects anything else). */
export function instanceOption(reg: RegisteredWorkflow, self: unknown): StartOptions {
  return reg.instanceMethod && self instanceof ConfiguredInstance ? { instance: self } : {};
}

export function registerStep(fn: AnyFunction, options: StepConfig): AnyFunction {
  return stepWrapper(fn, options.name ?? fn.name, options);
}

/** `@DBOS.step()`: works with legacy experimentalDecorators and with standard decorators. */
export function stepDecorator(stepConfig: StepConfig): DualMethodDecorator {
  return dualMethodDecorator(
    (method) => stepWrapper(method.fn, stepConfig.name ?? method.name, stepConfig),
    (method, owner) => info.placeRegistered(method.fn, owner),
  );
}

function stepWrapper(fn: AnyFunction, name: string, stepConfig: StepConfig): AnyFunction {
  checkStep(name, stepConfig);
  const wrapper = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    // Inside a workflow the engine running it records the step, whatever the facade holds at this moment.
    const executor = executorHere();
    if (!executor) return Promise.resolve().then(() => fn.apply(this, args));
    return runStepIn(executor, () => fn.apply(this, args), name, stepConfig);
  };
  Object.defineProperty(wrapper, 'name', { value: name });
  info.noteStep(fn, wrapper, name, stepConfig);
  return wrapper;
}

/** DBOS.runStep: `fn` as a step of the calling workflow (a plain call elsewhere), checked as a declared step is. */
export function runStep<R>(fn: () => Promise<R> | R, options: StepConfig): Promise<R> {
  const name = options.name ?? fn.name ?? 'step';
  try {
    checkStep(name, options);
  } catch (err) {
    return Promise.reject(err);
  }
  const executor = executorHere();
  if (!executor) return Promise.resolve().then(fn);
  return runStepIn(executor, fn, name, options);
}

/** A step's name and configuration, checked where it is declared (or run, for DBOS.runStep). */
function checkStep(name: string, stepConfig: StepConfig): void {
  if (name) checkFunctionName('step name', name);
  checkStepConfig(name || 'step', stepConfig);
}
