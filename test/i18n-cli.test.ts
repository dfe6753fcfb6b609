import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeResultSchema } from '../protocol/index.js';
import { runCli, writeConfig } from './helpers/run-cli.js';

// The agent speaks the teacher's language: Chinese from a zh_* locale or --lang zh-CN, English
// otherwise; JSON and fault codes stay the same in every language.

const FIXTURES = resolve(import.meta.dirname, 'fixtures/usb');
const ZH = { LANG: 'zh_CN.UTF-8' };

describe('avcare-agent in Chinese', () => {
  it('probe prints devices, faults and self-help in Chinese from LANG=zh_CN, codes unchanged', async () => {
    const config = writeConfig({ expectedDevices: [{ kind: 'camera', label: '讲台摄像头' }] });
    const result = await runCli(['-c', config, 'probe', '--replay', join(FIXTURES, 'speaker-bose-companion3.lsusb.txt')], { env: ZH });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^类型\s+名称\s+编号\s+连接方式\s+状态$/m);
    expect(result.stdout).toMatch(/^扬声器\s+Bose USB Audio\s+05a7:1020/m);
    expect(result.stdout).toContain('数据来源：');
    expect(result.stdout).toContain('故障（本轮检测，尚未经过防抖确认）：');
    expect(result.stdout).toMatch(/^紧急\s+硬件\s+DEVICE_MISSING\s+讲台摄像头 不见了：配置中要求本教室有此设备$/m);
    expect(result.stdout).toContain('针对 DEVICE_MISSING，您可以先试试：\n  1. 检查设备是否插好');
  });

  it('--lang wins over the environment, both ways', async () => {
    const english = await runCli(['--lang', 'en', 'expected'], { env: ZH });
    expect(english.stdout).toMatch(/^Expected: nothing$/m);
    const chinese = await runCli(['--lang', 'zh-CN', 'expected'], { env: { LANG: 'en_US.UTF-8' } });
    expect(chinese.stdout).toMatch(/^应有设备：无$/m);
    expect(chinese.stdout).toContain('记住的设备：\n（无）');
    const refused = await runCli(['--lang', 'fr', 'expected']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--lang "fr" is not a language the agent speaks: use zh-CN or en');
  });

  it('JSON stays language-neutral: English message, the catalog key and its parameters', async () => {
    const config = writeConfig({ expectedDevices: [{ kind: 'camera', label: 'front camera' }] });
    const json = probeResultSchema.parse(JSON.parse((await runCli(['-c', config, '--lang', 'zh-CN', 'probe', '--replay', join(FIXTURES, 'speaker-bose-companion3.lsusb.txt'), '--json'])).stdout));
    expect(json.faults[0]).toMatchObject({
      code: 'DEVICE_MISSING',
      message: 'front camera is missing: expected by the configuration',
      messageKey: 'faults.DEVICE_MISSING.config',
      params: { label: 'front camera' },
    });
    expect(json.faults[0]?.selfHelp[0]).toMatch(/^Check that the device is plugged in/);
  });

  it('doctor prints its table in Chinese and its JSON in English', async () => {
    const table = await runCli(['doctor'], { env: ZH });
    expect(table.stdout).toMatch(/^\s+检查项\s+结果$/m);
    expect(table.stdout).toMatch(/^失败\s+USB 总线\s+没有 \/sys\/bus\/usb/m);
    expect(table.stdout).toMatch(/解决办法：请在教室电脑本机上运行代理/);
    expect(table.stdout).toMatch(/^正常 \d+ 项，提醒 \d+ 项，失败 \d+ 项，跳过 \d+ 项$/m);
    const json = JSON.parse((await runCli(['doctor', '--json'], { env: ZH })).stdout) as { id: string; title: string; detail: string }[];
    expect(json.find((check) => check.id === 'usb-bus')).toMatchObject({ title: 'USB bus', detail: expect.stringMatching(/^no \/sys\/bus\/usb/) as unknown });
  });

  it('run --pretty and report speak Chinese too', async () => {
    const run = await runCli(['--lang', 'zh-CN', 'run', '--pretty', '--max-cycles', '1']);
    // The lines the agent writes itself are Chinese too: its header, the hotplug mode and why, each source's reason.
    expect(run.stdout).toMatch(/^avcare 代理 \S+：每 60 秒及 USB 热插拔时探测；按 Ctrl-C 停止。$/m);
    expect(run.stdout).toMatch(/^USB 热插拔：/m);
    expect(run.stdout).not.toMatch(/probing every|USB hotplug|is absent|no USB bus/);
    expect(run.stdout).toMatch(/^\d\d:\d\d:\d\d 代理 \S+（unassigned\/\S+）：\d+ 个设备$/m);
    // Not enrolled: the report could go nowhere, so it is refused, in Chinese, and nothing is kept.
    const state = mkdtempSync(join(tmpdir(), 'avcare-zh-report-'));
    const report = await runCli(['--lang', 'zh-CN', 'report', '投影机', '不亮'], { stateHome: state });
    expect(report.code).toBe(1);
    expect(report.stderr).toContain(`这台电脑没有连接到 avcare 云端（在 ${state} 中没有注册信息，配置中也没有消息服务器），报修无处可发；没有保存任何内容`);
    expect(report.stderr).toContain('请先为这台电脑注册');
    expect(existsSync(join(state, 'outbox.sqlite'))).toBe(false);
  }, 30_000);
});
