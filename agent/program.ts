import { userInfo } from 'node:os';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { AvcareError, reportCommandError, type ProbeResult, type ProbeSource } from '../protocol/index.js';
import { english, localeFromEnvironment, out, parseLocale, useLocale } from './i18n/i18n.js';
import { adhocSources, parsePjlinkTarget, parseSerialTarget, parseViscaIpTarget } from './adhoc-targets.js';
import { PLATFORM_PATHS } from './platform/platform-paths.js';
import { configFilePath, DEFAULT_CONFIG_PATH, loadAgentConfig, parseAgentConfig, type AgentConfig } from './config.js';
import { runProbeCycle } from './cycle.js';
import { AgentDaemon } from './daemon.js';
import { daemonStateFile, DaemonStateSink, readDaemonState } from './daemon-state.js';
import { ALL_SOURCES, createProbes } from './default-probes.js';
import { probeResult } from './events.js';
import { FaultMonitor } from './fault-monitor.js';
import { createLogger, type Logger } from '../protocol/log.js';
import { consoleSink, logSink, teeSink, withLogExcerpt } from './output.js';
import type { AgentSink } from './agent-sink.js';
import { watchUsbHotplug } from './probes/usb-hotplug.js';
import { createSystemProbe } from './probes/system-probe.js';
import { loadUsbIds } from './probes/usb-ids.js';
import { printable, renderConclusions, renderDevices, renderFaults, renderSkipped, renderSources, renderSystem } from './render.js';
import type { SkippedLine } from './probes/lsusb-lines.js';
import type { PastedConclusion } from './pasted/pasted-linux.js';
import { recentLogFile } from './recent-log.js';
import { configuredSecrets } from './scrub-secrets.js';
import { readIdentity } from './identity/identity-file.js';
import { resolveStateDir } from './state-dir.js';
import type { MqttSignalLink } from './measure/mqtt-signal-link.js';
import type { MeasureService } from './measure/measure-service.js';
import { runProbe } from './probes/probe.js';
import { readRecentLog } from './recent-log.js';
import type { SessionService } from './session/session-service.js';
import { consentCommand } from './session/consent-command.js';
import { AVCARE_VERSION } from '../protocol/version.js';
import { enrolledConfig, learnedDevicesFor, pcSideConfig, pcSideEnrolledConfig, recentLogFor } from './command-config.js';
import { asTyped } from '../protocol/runnable-command.js';

const collect = (value: string, previous: string[]) => [...previous, value];

// doctor, report and replay are loaded by their commands only: the daemon (`run`) never needs them,
// and every module it loads stays in its resident memory (bench:agent's 70 MB target).

export function buildProgram(): Command {
  const program = new Command('avcare-agent')
    .description('Probes this classroom PC\'s audio/video devices and reports what is wrong with them.')
    .version(AVCARE_VERSION)
    .option('-c, --config <file>', `configuration file (JSON); default $AVCARE_CONFIG or ${DEFAULT_CONFIG_PATH} when present`)
    .option('--lang <zh-CN|en>', 'language of what is printed for people (default: from LC_ALL / LC_MESSAGES / LANG; zh_* gives Chinese); JSON and logs are not translated')
    .showHelpAfterError()
    .hook('preAction', () => {
      const { lang } = program.opts<{ lang?: string }>();
      useLocale(lang === undefined ? localeFromEnvironment() : parseLocale(lang));
    });

  program
    .command('probe')
    .description('run one probe cycle and print the devices and faults found')
    .option('--json', 'print devices, sources, the PC\'s state and the faults as JSON (protocol/probe-result.ts; --replay reads it back)')
    .option('--serial <path:visca>', 'probe one VISCA camera on a serial port instead of this PC (repeatable)', collect, [])
    .option('--pjlink <host[:port][,password]>', 'probe one PJLink projector instead of this PC (repeatable)', collect, [])
    .option('--visca-ip <host[:port][@framing]>', 'probe one network PTZ camera over VISCA instead of this PC; without @sony-ip|raw-udp|raw-tcp the framing is found and reported (repeatable)', collect, [])
    .option('--replay <file>', 'classify what a school sent instead of this PC: `probe --json` output, `lsusb -v` or `lsusb`, usb-devices, usbhid-dump, /proc/bus/input/devices, libinput, udevadm, evtest or kernel log text, pasted together in any order')
    .action(async (options: { json?: boolean; serial: string[]; pjlink: string[]; viscaIp: string[]; replay?: string }) => {
      const base = pcSideEnrolledConfig(program.opts<{ config?: string }>().config).config;
      const adhoc = options.serial.length > 0 || options.pjlink.length > 0 || options.viscaIp.length > 0;
      const config = adhoc
        ? parseAgentConfig({
            ...base,
            serialPorts: options.serial.map(parseSerialTarget),
            pjlink: options.pjlink.map(parsePjlinkTarget),
            viscaIp: options.viscaIp.map(parseViscaIpTarget),
            discoverSerialPorts: false,
            expectedDevices: [],
            learnExpectedDevices: false,
          })
        : base;
      const log = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
      const monitor = new FaultMonitor(config, adhoc || options.replay ? null : learnedDevicesFor(config), log);
      let cycle;
      let replay: { skipped: SkippedLine[]; json: ProbeResult['replay']; conclusions: PastedConclusion[] } | undefined;
      if (options.replay) {
        const { loadReplay, replayJson } = await import('./replay.js');
        const loaded = await loadReplay(options.replay, loadUsbIds());
        replay = { skipped: loaded.skipped, json: replayJson(options.replay, loaded, (c) => english.stored(`replay.tool.${c.key}`, { tool: c.tool, ...c.params })), conclusions: loaded.conclusions };
        for (const event of loaded.connectionEvents) monitor.recordConnectionEvent(event);
        cycle = loaded.cycle;
      } else {
        const sources: ProbeSource[] = adhoc ? adhocSources(options) : [...ALL_SOURCES];
        cycle = await runProbeCycle(createProbes(sources), { config, log });
      }
      const faults = monitor.detect(cycle);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(probeResult(config, cycle, faults, replay?.json), null, 2)}\n`);
        return;
      }
      if (options.replay && replay?.skipped.length) process.stderr.write(`${renderSkipped(options.replay, replay.skipped)}\n\n`);
      if (replay?.conclusions.length) process.stdout.write(`${renderConclusions(replay.conclusions)}\n\n`);
      if (cycle.system) process.stdout.write(`${renderSystem(cycle.system)}\n\n`);
      const { t } = out();
      process.stdout.write(`${renderDevices(cycle.devices)}\n\n${t('probe.sources')}\n${renderSources(cycle.sources)}\n\n${t('probe.faults')}\n${renderFaults(faults)}\n`);
    });

  program
    .command('run')
    .description('run the agent: probe on an interval and on hotplug, raise and clear faults, publish to the cloud (for systemd)')
    .option('--pretty', 'print devices and faults for a person (default when stdout is a terminal)')
    .option('--broker <url>', 'publish to this MQTT broker (mqtt://HOST:PORT or mqtts://...) instead of the configured broker.url')
    .option('--school <id>', 'school id, instead of the configured schoolId')
    .option('--room <id>', 'room id, instead of the configured roomId')
    .addOption(new Option('--max-cycles <n>', 'stop after n cycles').argParser((value) => positiveInt(value, '--max-cycles')))
    .action(async (options: RunOptions) => {
      // MQTT and the remote sessions only for the daemon: every other command starts without them.
      const [{ startPublishing }, { remoteSessionsOnRequest }] = await Promise.all([import('./transport/publishing.js'), import('./session/remote-sessions.js')]);
      const config = withRunOverrides(enrolledConfig(program.opts<{ config?: string }>().config), options);
      const pretty = options.pretty ?? process.stdout.isTTY;
      // A person at a terminal reads the console output; only problems go to the log there.
      const recent = recentLogFor(config, () => log);
      const log = createLogger({ level: pretty && config.logLevel === 'info' ? 'warn' : config.logLevel, recent });
      const learned = learnedDevicesFor(config);
      if (learned.loadWarning) log.warn(learned.loadWarning);
      const printing = pretty ? consoleSink(process.stdout) : logSink(log);
      // The tests' results go to the same sink as the daemon's events, which needs the publishing below: hence the indirection.
      const tests = testsOnRequest(config, { inventory: () => undefined, health: () => undefined, fault: (message) => sink.fault(message), measurement: (message) => sink.measurement?.(message) }, log);
      // The daemon is built after the publishing it needs; the session actions reach it through this.
      const running: { daemon?: AgentDaemon } = {};
      const stateDir = resolveStateDir(config);
      const sessions = remoteSessionsOnRequest({
        identity: config,
        signingKey: readIdentity(stateDir)?.signingKey,
        stateDir,
        log,
        hooks: {
          reprobe: () => running.daemon?.probeNow() ?? Promise.resolve({ at: new Date().toISOString(), devices: [], sources: [] }),
          inventory: () => running.daemon?.lastInventory,
          health: async () => (await runProbe(createSystemProbe(), { config, log }, config.probeTimeoutSeconds * 1000)).findings.system,
          recentLog: (lines) => readRecentLog(recentLogFile(stateDir), lines),
          runTest: (test) => tests.run(test),
          // Exit 75 (temporary failure) after a clean stop: the service manager starts the agent again.
          restart: () => {
            process.exitCode = 75;
            process.kill(process.pid, 'SIGTERM');
          },
          configFile: configFilePath(program.opts<{ config?: string }>().config),
          secrets: configuredSecrets(config),
          cameras: config,
          headsets: { config, stateDir, lookOnUsb: config.vr.usb, log: log.child({ module: 'vr' }) },
          daemonState: () => readDaemonState(daemonStateFile(stateDir)),
        },
      });
      const publishing =
        config.broker.url === undefined
          ? undefined
          : startPublishing(config, { ...config.broker, url: config.broker.url }, log, { onInbox: (topic, payload) => sessions.onInbox(topic, payload) || tests.onInbox(topic, payload) });
      // What `avcare-agent report`, a process of its own, needs from this one.
      const shared = new DaemonStateSink({ file: daemonStateFile(resolveStateDir(config)), config, publishing: publishing !== undefined, log });
      const sink = withLogExcerpt(teeSink(log, publishing ? [publishing.sink, printing, shared] : [printing, shared]), (limit) => recent.excerpt(limit));
      if (publishing) {
        sessions.start((topic, payload) => publishing.transport.publishNow(topic, payload));
        await tests.start((topic, payload) => publishing.transport.publishNow(topic, payload), () => sessions.service());
      }
      const daemon = new AgentDaemon({
        config,
        log,
        probes: createProbes(),
        monitor: new FaultMonitor(config, learned, log),
        sink,
        watchHotplug: (onChange) => {
          const watcher = watchUsbHotplug((event) => onChange(event));
          log.info({ mode: watcher.mode, reason: watcher.reason }, 'usb hotplug');
          if (pretty) {
            const { t, stored } = out();
            const reason = watcher.reasonKey ? stored(watcher.reasonKey, watcher.reasonParams ?? {}) : watcher.reason;
            process.stdout.write(`${t('run.hotplug', { mode: t(`hotplugMode.${watcher.mode}`), reason: reason ? ` (${printable(reason)})` : '' })}\n`);
          }
          return watcher;
        },
        ...(publishing ? { healthProbe: createSystemProbe() } : {}),
        ...(options.maxCycles === undefined ? {} : { maxCycles: options.maxCycles }),
      });
      log.info({ agentId: config.agentId, schoolId: config.schoolId, roomId: config.roomId, version: AVCARE_VERSION, intervalSeconds: config.probeIntervalSeconds }, 'agent started');
      if (pretty) {
        process.stdout.write(`${out().t('run.header', { version: AVCARE_VERSION, seconds: config.probeIntervalSeconds })}\n`);
        if (publishing) process.stdout.write(`${out().t('run.publishing', { where: publishing.describe() })}\n`);
      }
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          log.info({ signal }, 'stopping');
          void daemon.stop();
        });
      }
      running.daemon = daemon;
      shared.started();
      daemon.start();
      await daemon.done;
      await tests.stop();
      await publishing?.stop();
      shared.stopped();
    });

  program
    .command('report')
    .description('report a problem in your own words; the agent adds what the engineer needs and sends it to the service team')
    .argument('<text...>', 'what is wrong, e.g. "the projector flickers" (1 to 2000 characters)')
    .option('--device <id>', 'the device it is about, an id shown by `avcare-agent probe --json`')
    .option('--by <name>', 'who reports it (default: your user name)')
    .option('--json', 'print the report id and whether it was sent, as JSON')
    .action(async (words: string[], options: { device?: string; by?: string; json?: boolean }) => {
      const { config, located } = pcSideEnrolledConfig(program.opts<{ config?: string }>().config);
      // The outcome is said in words below; broker errors on the console would only alarm a teacher.
      const recent = recentLogFor(config, () => log);
      const log = createLogger({ level: ['info', 'warn'].includes(config.logLevel) ? 'error' : config.logLevel, recent });
      const { describeReportOutcome, REPORT_STRINGS } = await import('./report-strings.js');
      const { fileReport } = await import('./report-command.js');
      const outcome = await fileReport({
        config,
        words,
        by: options.by,
        device: options.device,
        defaultReporter: osUserName(),
        learned: learnedDevicesFor(config),
        lookedIn: located.searched,
        log,
        recent,
        onProbing: () => {
          if (!options.json) process.stdout.write(`${REPORT_STRINGS.probing()}\n`);
        },
      });
      process.stdout.write(options.json ? `${JSON.stringify(outcome, null, 2)}\n` : `${describeReportOutcome(outcome)}\n`);
    });

  program
    .command('test')
    .description('measure what a class feels: network quality to the cloud (WebRTC) or A/V sync; the result also goes to the cloud')
    .addArgument(new Argument('<test>', 'network: audio and video to the cloud\'s reflector and back; avsync: flash-and-beep markers through the video and audio pipeline').choices(['network', 'avsync']))
    .option('--json', 'print the result as JSON (progress goes to stderr)')
    .action(async (test: 'network' | 'avsync', options: { json?: boolean }) => {
      const { config, located } = pcSideEnrolledConfig(program.opts<{ config?: string }>().config);
      const recent = recentLogFor(config, () => log);
      const log = createLogger({ level: ['info', 'warn'].includes(config.logLevel) ? 'error' : config.logLevel, recent });
      const { runTestCommand } = await import('./measure/test-command.js');
      const { renderOutcome, renderProgress } = await import('./measure/render-test.js');
      const tr = out();
      const progressTo = options.json ? process.stderr : process.stdout;
      const expectedSeconds = test === 'network' ? config.measure.durationSeconds + 5 : 15;
      const { outcome, ranIn } = await runTestCommand({
        config,
        test,
        log,
        lookedIn: located.searched,
        onProgress: (progress) => {
          const line = renderProgress(progress, test, tr, expectedSeconds);
          if (line !== undefined) progressTo.write(`${line}\n`);
        },
      });
      if (options.json) process.stdout.write(`${JSON.stringify({ ranIn, ...outcome }, null, 2)}\n`);
      else process.stdout.write(`\n${renderOutcome(outcome, test, ranIn, tr)}\n`);
      if (outcome.status !== 'done') process.exitCode = 1;
    });

  program
    .command('enroll')
    .description('join a school: register this PC with the cloud using an enrollment token, and keep its credentials (run again safely)')
    .requiredOption('--cloud <url>', "the cloud's address, e.g. https://avcare.example.edu.cn")
    .requiredOption('--token <token>', 'the enrollment token the school admin created')
    .option('--room <id>', 'the room this PC is in (default: the token\'s room, or the host name)')
    .option('--ca <file>', "CA certificate (PEM) of the cloud, when it is not in the system's store")
    .option('--insecure-plaintext', 'allow http:// to another machine (the token crosses the network in clear; trusted networks only)')
    .option('--json', 'print the outcome as JSON (without the secret)')
    .action(async (options: { cloud: string; token: string; room?: string; ca?: string; insecurePlaintext?: boolean; json?: boolean }) => {
      const config = loadAgentConfig(program.opts<{ config?: string }>().config);
      const { enrollAgent } = await import('./identity/enroll.js');
      const outcome = await enrollAgent({
        cloudUrl: options.cloud,
        token: options.token,
        stateDir: resolveStateDir(config),
        requestedAgentId: config.agentId,
        ...(options.room === undefined ? {} : { roomId: parseAgentConfig({ roomId: options.room }, '--room').roomId }),
        ...(options.ca === undefined ? {} : { caFile: options.ca }),
        insecurePlaintext: options.insecurePlaintext === true,
      });
      const { identity } = outcome;
      const summary = {
        schoolId: identity.schoolId,
        agentId: identity.agentId,
        roomId: identity.roomId,
        reenrolled: outcome.reenrolled,
        ...(outcome.replacesRevokedAgent === undefined ? {} : { replacesRevokedAgent: outcome.replacesRevokedAgent }),
        broker: identity.mqtt.url,
        signingKeyId: identity.signingKey.keyId,
        identityFile: outcome.file,
      };
      process.stdout.write(
        options.json
          ? `${JSON.stringify(summary, null, 2)}\n`
          : [
              `${outcome.reenrolled ? 'enrolled again (same agent, new credentials)' : 'enrolled'}: agent ${identity.schoolId}:${identity.agentId}, room ${identity.roomId}`,
              ...(outcome.replacesRevokedAgent === undefined
                ? []
                : [`this PC's previous agent ${identity.schoolId}:${outcome.replacesRevokedAgent} was revoked, so it joined as a new agent (a school admin can readmit the old one: avcare-cloud agents readmit ID)`]),
              `broker ${identity.mqtt.url}; cloud signing key ${identity.signingKey.keyId}`,
              `credentials kept in ${outcome.file} (readable by this user only)`,
              `restart the agent to use them: ${PLATFORM_PATHS.restartCommand}`,
              '',
            ].join('\n'),
      );
    });

  program
    .command('service-definition')
    .description("print the definition that makes the agent a service on this platform (Windows: WinSW's XML; macOS: the launchd plist); install.ps1 and install-macos.sh write it with --write")
    .option('--platform <name>', 'windows or macos (default: this PC\'s)')
    .option('--node <path>', 'the Node.js the service runs, by full path (default: the one running this command)', process.execPath)
    .option('--write', 'write it where the platform keeps it instead of printing it')
    .option('--notice-watch', "instead: what starts 'consent watch --notify' in each person's desktop session (macOS's LaunchAgent)")
    .action(async (options: { platform?: string; node: string; write?: boolean; noticeWatch?: boolean }) => {
      const { serviceDefinition } = await import('./platform/service-command.js');
      process.stdout.write(await serviceDefinition(options));
    });

  program
    .command('doctor')
    .description('check the prerequisites (USB permissions, dialout group, udev, tools) and say how to fix each')
    .option('--json', 'print the checks as JSON')
    .action(async (options: { json?: boolean }) => {
      const { doctorExitCode, formatDoctorReport, runDoctorChecks } = await import('./doctor.js');
      // JSON stays in English (language-neutral); the table is in the reader's language.
      const tr = options.json ? english : out();
      const checks = await runDoctorChecks({ configPath: program.opts<{ config?: string }>().config }, tr);
      process.stdout.write(options.json ? `${JSON.stringify(checks, null, 2)}\n` : asTyped(formatDoctorReport(checks, tr)));
      process.exitCode = doctorExitCode(checks);
    });

  program
    .command('discover')
    .description('find the projectors (PJLink class 2) and PTZ cameras (VISCA over IP) on this PC\'s own networks, and print the configuration line for each')
    .option('--json', 'print what was found as JSON')
    .option('--interface <name>', 'search only this network interface (e.g. eth0)')
    .addOption(new Option('--timeout <seconds>', 'how long to listen for answers').default(3).argParser((value) => positiveInt(value, '--timeout')))
    .action(async (options: { json?: boolean; interface?: string; timeout: number }) => {
      const { discover } = await import('./discover/discover.js');
      const { localNetworks } = await import('./discover/local-networks.js');
      const { renderDiscovery } = await import('./discover/render-discovery.js');
      const networks = localNetworks(options.interface === undefined ? {} : { interface: options.interface });
      if (options.interface !== undefined && networks.length === 0) {
        throw new AvcareError('INVALID_ARGUMENT', `--interface ${options.interface}: no such interface with an IPv4 network (see \`ip -brief address\`)`);
      }
      const found = await discover({ networks, timeoutMs: Math.min(options.timeout, 30) * 1000 });
      process.stdout.write(options.json ? `${JSON.stringify(found, null, 2)}\n` : `${renderDiscovery(found)}\n`);
    });

  program
    .command('expected')
    .description('list the devices this room is expected to have (configured and learned), or forget learned ones')
    .option('--forget <key>', 'forget one learned device (key as listed)')
    .option('--forget-all', 'forget every learned device')
    .option('--json', 'print as JSON')
    .action((options: { forget?: string; forgetAll?: boolean; json?: boolean }) => {
      const { config } = pcSideConfig(program.opts<{ config?: string }>().config);
      const learned = learnedDevicesFor(config);
      if (options.forget !== undefined || options.forgetAll) {
        const removed = options.forgetAll ? learned.forgetAll() : learned.forget(options.forget ?? '');
        if (removed === 0) throw new AvcareError('INVALID_ARGUMENT', `no learned device with key "${options.forget ?? ''}"; run \`avcare-agent expected\` to list them`);
        learned.save();
        process.stdout.write(`${out().t('expected.forgot', { count: removed })}\n`);
        return;
      }
      const expectations = new FaultMonitor(config, learned).expectations(new Date());
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ expectations, learned: learned.list() }, null, 2)}\n`);
        return;
      }
      const { t } = out();
      const lines = learned.list().map((d) => t('expected.line', { key: d.key, kind: t(`kind.${d.kind}`), name: printable(d.name), lastSeen: d.lastSeenAt }));
      const list = expectations.map((e) => t('expected.item', { label: printable(e.label), kind: t(`kind.${e.kind}`), origin: t(`expected.origin.${e.origin}`) }));
      process.stdout.write(`${t('expected.summary', { list: list.length ? list.join(', ') : t('expected.nothing') })}\n${t('expected.learned')}\n${lines.join('\n') || t('expected.none')}\n`);
    });

  program.addCommand(consentCommand(() => pcSideConfig(program.opts<{ config?: string }>().config).located));

  return program;
}


/** Who typed the report: the person behind sudo rather than root. */
function osUserName(): string | undefined {
  if (process.env.SUDO_USER) return process.env.SUDO_USER;
  try {
    return userInfo().username;
  } catch {
    // A uid without a passwd entry (some containers): the report simply names nobody.
    return undefined;
  }
}

interface RunOptions {
  pretty?: boolean;
  maxCycles?: number;
  broker?: string;
  school?: string;
  room?: string;
}

/** The command line wins over the file; checked by the same schema, so a bad id gets the usual field error. */
export function withRunOverrides(config: AgentConfig, options: Pick<RunOptions, 'broker' | 'school' | 'room'>): AgentConfig {
  if (options.broker === undefined && options.school === undefined && options.room === undefined) return config;
  return parseAgentConfig(
    {
      ...config,
      ...(options.school === undefined ? {} : { schoolId: options.school }),
      ...(options.room === undefined ? {} : { roomId: options.room }),
      broker: { ...config.broker, ...(options.broker === undefined ? {} : { url: options.broker }) },
    },
    'the command line (--broker, --school, --room)',
  );
}

/**
 * Tests on request: from the CLI over the control socket, and from the cloud (its schedule and
 * the room-ready check) over the inbox. Nothing of it is loaded until the first request: the
 * resident agent keeps its memory budget (bench:agent) until a test is actually asked for.
 */
function testsOnRequest(config: AgentConfig, sink: AgentSink, log: Logger) {
  let publishNow: (topic: string, payload: string) => Promise<void> = () => Promise.reject(new Error('not publishing'));
  let loading: Promise<{ measure: MeasureService; link: MqttSignalLink; stopAsks: () => void }> | undefined;
  const stateDir = resolveStateDir(config);
  const load = () =>
    (loading ??= (async () => {
      const { MqttSignalLink: Link } = await import('./measure/mqtt-signal-link.js');
      const { MeasureService: Service } = await import('./measure/measure-service.js');
      const { answerCloudAsks } = await import('./measure/cloud-asks.js');
      const link = new Link({ identity: config, publish: (topic, payload) => publishNow(topic, payload), log });
      const measure = new Service({ config, log, sink, link, stateDir });
      return { link, measure, stopAsks: answerCloudAsks({ link, measure, config, log }) };
    })());
  let control: { close(): Promise<void> } | undefined;
  return {
    onInbox(topic: string, payload: Buffer): boolean {
      load().then(
        ({ link }) => link.receive(topic, payload),
        (error: unknown) => log.error({ err: error }, 'cannot load the tests'),
      );
      return true;
    },
    /** A test an engineer asked for in a remote session. */
    run: (test: 'network' | 'avsync') => load().then(({ measure }) => measure.run(test, 'on-demand')),
    async start(publish: (topic: string, payload: string) => Promise<void>, sessions: () => Promise<SessionService | undefined>): Promise<void> {
      publishNow = publish;
      const { startControlServer } = await import('./control/control-server.js');
      try {
        control = await startControlServer({ stateDir, measure: () => load().then(({ measure }) => measure), sessions, log });
      } catch (error) {
        // Tests on demand then run in the CLI's own process, after this daemon is stopped.
        log.warn({ err: error }, 'cannot open the control socket; `avcare-agent test` will not reach this agent');
      }
    },
    async stop(): Promise<void> {
      if (loading) (await loading).stopAsks();
      await control?.close();
    },
  };
}

function positiveInt(value: string, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError(`${flag} must be a whole number of at least 1.`);
  return parsed;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    reportCommandError(error);
  }
}
