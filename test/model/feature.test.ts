// The feature contract (server/feature.ts) on a hand-driven stage: typed commands with one owner
// each, declared status in the public state, per-frame work, presets that capture every
// feature's part, and every change to the walk through the one command queue.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fixtureModel, drivenStage } from '../helpers/steer.ts';
import { Stage } from '../../server/stage.ts';
import { PresetStore } from '../../server/presets.ts';
import type { Feature, FrameClock } from '../../server/feature.ts';
import type { CommandOf } from '../../server/commands.ts';
import type { StageCommand } from '../../server/feature.ts';

describe('the feature contract', () => {
  let fx: Awaited<ReturnType<typeof fixtureModel>>;
  let tmp: string;
  before(async () => {
    fx = await fixtureModel();
    tmp = mkdtempSync(path.join(tmpdir(), 'ls-feature-'));
  });
  after(async () => {
    await fx.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('a feature handles its typed commands, publishes its status and sees every frame', async () => {
    const stage = new Stage({ model: fx.model, presets: new PresetStore(tmp), fps: 30 });
    assert.equal(stage.state().tempo, undefined, 'no feature, no status key');
    const clocks: FrameClock[] = [];
    const seen: number[] = [];
    const tempo: Feature = {
      name: 'tempo-test',
      commands: { tempo: (cmd: CommandOf<'tempo'>) => void seen.push(cmd.bpm) },
      status: () => ({ tempo: { bpm: seen.at(-1) ?? 0, beat: 0 } }),
      frame: (c) => void clocks.push(c),
    };
    stage.use(tempo);
    const state = await stage.dispatch({ type: 'tempo', bpm: 90 }, 'test');
    assert.deepEqual(seen, [90]);
    assert.deepEqual(state.tempo, { bpm: 90, beat: 0 });
    await stage.produce(1 / 30);
    await stage.produce(2 / 30, 2);
    assert.deepEqual(clocks.map((c) => c.index), [0, 2]);
    assert.ok(Math.abs(clocks[1]!.time - 0.1) < 1e-9);
    assert.throws(() => stage.use({ name: 'other', commands: { tempo: () => {} } }), /tempo is already handled by tempo-test/);
    await assert.rejects(stage.dispatch({ type: 'tempo', bpm: 'fast' }, 'test'), /bpm must be a number/);
    assert.deepEqual(seen, [90], 'a rejected command never reaches the handler');
  });

  test('a state key has one publisher: a second feature (or one shadowing the stage\'s own keys) is refused', () => {
    const stage = new Stage({ model: fx.model, presets: new PresetStore(tmp), fps: 30 });
    stage.use({ name: 'tempo-a', status: () => ({ tempo: { bpm: 120, beat: 0 } }) });
    assert.throws(() => stage.use({ name: 'tempo-b', status: () => ({ tempo: { bpm: 90, beat: 0 } }) }), /tempo-b: state key tempo is already published by tempo-a/);
    assert.throws(() => stage.use({ name: 'sneaky', status: () => ({ fps: 1 }) as never }), /sneaky: state key fps is already published by the stage/);
    assert.equal(stage.state().tempo?.bpm, 120, 'the refused features changed nothing');
  });

  test('a command nobody on the stage handles fails clearly and changes nothing; engine commands need no owner', async () => {
    const stage = new Stage({ model: fx.model, presets: new PresetStore(tmp), fps: 30 });
    const before = stage.state();
    await assert.rejects(stage.dispatch({ type: 'record.start' }, 'test'), (err: Error & { status?: number }) => {
      assert.equal(err.message, 'record.start: not available here (nothing on this stage handles it)');
      assert.equal(err.status, 400);
      return true;
    });
    await assert.rejects(stage.dispatch({ type: 'schedule.stop' }, 'test'), /schedule.stop: not available here/);
    assert.deepEqual(stage.state(), before);
    assert.equal((await stage.dispatch({ type: 'tempo', bpm: 100 }, 'test')).seed, before.seed, 'the engine applies tempo itself');
    assert.equal(stage.engine.bpm, 100);
  });

  test('preset.save captures the running schedule and tempo; a preset without one stops it', async () => {
    const d = await drivenStage(fx.model, { presets: tmp });
    const schedule = { unit: 'beats' as const, loop: true, steps: [{ at: 0, prompt: 'robot' }, { at: 4, prompt: 'sun' }] };
    await d.stage.dispatch({ type: 'tempo', bpm: 96 }, 'test');
    await d.stage.dispatch({ type: 'schedule.start', schedule }, 'test');
    await d.run(5, { search: false });
    await d.stage.dispatch({ type: 'preset.save', name: 'set-a' }, 'test');
    const saved = await d.stage.presets.load('set-a');
    assert.deepEqual(saved.schedule, schedule);
    assert.equal(saved.tempo, 96);
    assert.equal(saved.prompt?.text, 'robot');

    await d.stage.dispatch({ type: 'schedule.stop' }, 'test');
    await d.stage.dispatch({ type: 'preset.save', name: 'still' }, 'test');
    assert.equal((await d.stage.presets.load('still')).schedule, undefined);

    await d.stage.dispatch({ type: 'preset.load', name: 'set-a' }, 'test');
    assert.ok(d.stage.state().schedule, 'loading set-a starts its schedule');
    assert.equal(d.stage.state().tempo?.bpm, 96);
    await d.stage.dispatch({ type: 'preset.load', name: 'still' }, 'test');
    assert.equal(d.stage.state().schedule, null, 'a preset without a schedule stops the running one');
    d.steering.close();
  });

  test('a preset stands for its commands in order: the walk, then each feature', async () => {
    const d = await drivenStage(fx.model);
    const schedule = { unit: 'seconds' as const, steps: [{ at: 0, prompt: 'sun' }] };
    const cmds = d.stage.presetCommands({ seed: 3, params: { speed: 1 }, prompt: { text: 'sun' }, tempo: 100, schedule });
    assert.deepEqual(cmds.map((c) => c.type), ['seed', 'set', 'prompt', 'tempo', 'schedule.start']);
    d.steering.close();
  });
});

describe('every change to the walk goes through the command queue', () => {
  let fx: Awaited<ReturnType<typeof fixtureModel>>;
  before(async () => {
    fx = await fixtureModel({ prior: false });
  });
  after(() => fx.dispose());

  test('search targets are queued commands: announced, counted and applied in order', async () => {
    const d = await drivenStage(fx.model, { steering: { publishEvery: 0 } });
    const commands: [StageCommand['type'], string][] = [];
    d.stage.on('command', (cmd, surface) => commands.push([cmd.type, surface]));
    await d.stage.dispatch({ type: 'prompt', text: 'robot', fade: 1 }, 'test');
    const region = d.stage.engine.region.to;
    await d.run(3);
    const targets = commands.filter(([type]) => type === 'target');
    assert.equal(targets.length, 3, `one target per search generation: ${JSON.stringify(commands)}`);
    assert.ok(targets.every(([, surface]) => surface === 'steering'));
    assert.notEqual(d.stage.engine.region.to, region, 'the targets moved the walk');
    assert.match(await d.stage.metrics.registry.metrics(), /latentstage_commands_total\{surface="steering",type="target"\} 3/);
    d.steering.close();
  });
});
