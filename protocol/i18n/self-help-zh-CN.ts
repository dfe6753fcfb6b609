import type { FaultCode } from '../fault-codes.js';

/**
 * The self-help steps of protocol/self-help.ts in Simplified Chinese, step for step (same count
 * per code: i18n.test.ts checks it). Commands and paths stay as they are typed.
 */
export const SELF_HELP_ZH_CN: Readonly<Record<FaultCode, readonly string[]>> = {
  DEVICE_MISSING: [
    '检查设备是否插好，两端的线缆是否插牢；换电脑上的另一个 USB 口试试（不要用前面板口或无电源的集线器）。',
    '如果设备有单独的电源，检查电源是否打开。',
    '如果设备是有意搬到其他教室的，请告诉服务商，这样本教室就不再要求有它。',
  ],
  CAMERA_NO_VIDEO_NODE: [
    '拔下摄像头，等 10 秒，再直接插到电脑本机的 USB 口上。',
    '关闭可能占用摄像头的程序（视频会议、录播软件），再运行 `avcare-agent probe`。',
    '重启电脑；如果摄像头仍然没有视频设备，需要工程师处理驱动或固件。',
  ],
  MICROPHONE_NO_CAPTURE: [
    '拔下麦克风或会议全向麦，等 10 秒，再直接插到电脑本机上。',
    '重启电脑；如果仍然没有录音设备，需要工程师处理驱动。',
  ],
  MICROPHONE_MUTED: [
    '按一下麦克风或会议全向麦上的静音键（指示灯通常从红色变为绿色或白色）。',
    '打开电脑的声音设置，取消录音设备的静音，并确认音量不是零。',
  ],
  TOUCH_NO_INPUT: [
    '拔下触摸屏的 USB 线（面板上标有 TOUCH 的那根，不是 HDMI），等 10 秒，再插到电脑本机的 USB 口上，不要插集线器或前面板口。',
    '如果是带 OPS 电脑的一体机，在面板菜单中把触摸输出切换到正在使用的信号源（触摸：HDMI1/OPS）。',
    '仍然没有反应就重启电脑；如果还不行，需要工程师处理触摸驱动。',
  ],
  DEVICE_UNSTABLE_CONNECTION: [
    '检查 USB 线两端是否插牢：线松或线损坏是最常见的原因。可以的话换一根更短的线。',
    '把设备插到电脑本机的 USB 口上，不要用集线器、前面板口或延长线。',
    '如果换了好的线和接口仍然反复断开，需要工程师检查设备或电脑的 USB 口。',
  ],
  VR_ADB_NOT_AUTHORIZED: [
    '戴上头显：里面有一个“允许 USB 调试吗？”的对话框。勾选“始终允许这台计算机”，然后点“允许”（确定）。',
    '没有对话框？戴着头显拔下并重新插上 USB 线；Quest 需要在 Meta Horizon 应用里打开开发者模式。',
  ],
  VR_BATTERY_LOW: [
    '马上把头显放到充电器上；一节 45 分钟的课大约需要 80% 的电量。',
    '检查充电车是否打开、头显的线是否插牢：头显上的指示灯会显示正在充电。',
  ],
  VR_CONTROLLER_DISCONNECTED: [
    '戴上头显，按手柄上任意一个键唤醒它。',
    '还是连不上就更换电池（或充电），然后在头显的“设置 > 设备/手柄”中重新配对。',
  ],
  VR_CONTROLLER_UNSTABLE: [
    '先更换手柄电池：电量不足是连接时断时续最常见的原因。',
    '让手柄靠近头显，远离充电车的金属框和无线路由器；仍然断开时，在头显的“设置 > 设备/手柄”中重新配对。',
  ],
  VR_CONTROLLER_BATTERY_LOW: [
    '上课前更换手柄的 5 号电池（或给它充电）。',
  ],
  VR_APP_CRASHED: [
    '在头显的最近应用中关闭这个应用，再重新打开。',
    '如果在同一个地方再次崩溃，重启头显；一直崩溃的话，应用供应商需要这张工单里的崩溃记录。',
  ],
  VR_APP_MISSING: [
    '通过学校的设备管理（或班级设备使用的商店账号）在这台头显上安装该应用。',
  ],
  VR_APP_VERSION_MISMATCH: [
    '更新这台头显（或其他头显）上的应用，让整套班级设备运行同一版本：课程和多人场景要求版本一致。',
  ],
  VR_STORAGE_LOW: [
    '删除头显上不再使用的录像、截图和应用。',
  ],
  VR_OVERHEATING: [
    '摘下头显，放在阴凉处冷却 15 分钟；发热时不要充电。',
    '如果正常使用时还会过热，需要工程师检查。',
  ],
  VISCA_POWER_ERROR: [
    '关掉摄像机的电源，等 30 秒后再打开。',
    '如果故障再次出现，说明摄像机电源电路需要工程师处理：请不要自行拆开摄像机。',
  ],
  VISCA_NOT_ANSWERING: [
    '检查摄像机是否通电（指示灯亮），控制线是否插牢：串口摄像机查看摄像机和电脑转换器两端的 RS-232/RS-422 线，网络摄像机查看网线。',
    '网络摄像机请在其菜单中确认已打开 IP 控制（VISCA over IP），并且地址与本教室配置的一致。',
    '给摄像机断电再上电；代理会在下一轮检测时重新初始化控制连接。',
  ],
  PJLINK_NOT_ANSWERING: [
    '检查投影机是否插电、网线是否连好（开启“网络待机”时，待机的投影机仍会应答 PJLink）。',
    '在投影机菜单中确认已开启网络控制（PJLink），并且 IP 地址与本教室配置的一致。',
  ],
  PJLINK_AUTH_FAILED: [
    '代理配置中的 PJLink 密码与投影机的不一致：请服务商更新 /etc/avcare/agent.json，或在投影机菜单中重设密码。',
  ],
  PJLINK_REFUSED: [
    '在投影机菜单中确认已开启网络控制（PJLink）；有些投影机在“节能”待机时会关闭它。',
    '可能有其他中控系统占用了投影机唯一的 PJLink 会话：请联系服务商。',
  ],
  PJLINK_BAD_REPLY: [
    '投影机有应答，但不符合 PJLink 的要求：请确认配置的地址和端口（4352）确实属于这台投影机，而不是其他设备。',
    '把该故障的证据（投影机应答的字节）发给服务商：可能需要升级固件。',
  ],
  PJLINK_FAN_WARNING: ['检查投影机的进出风口是否被挡住；关机冷却 30 分钟。'],
  PJLINK_FAN_ERROR: ['检查投影机的进出风口是否被挡住；关机冷却 30 分钟。'],
  PJLINK_LAMP_WARNING: ['关闭投影机让它冷却；如果灯泡故障仍在，需要更换灯泡。'],
  PJLINK_LAMP_ERROR: ['关闭投影机让它冷却；如果灯泡故障仍在，需要更换灯泡。'],
  PJLINK_TEMPERATURE_WARNING: ['检查风口和室温；清洁滤网；关机冷却 30 分钟。'],
  PJLINK_TEMPERATURE_ERROR: ['检查风口和室温；清洁滤网；关机冷却 30 分钟。'],
  PJLINK_COVER_WARNING: ['检查灯泡盖和镜头盖是否盖好。'],
  PJLINK_COVER_ERROR: ['检查灯泡盖和镜头盖是否盖好。'],
  PJLINK_FILTER_WARNING: ['清洁或更换投影机的滤网（见投影机说明书），然后在菜单中把滤网计时清零。'],
  PJLINK_FILTER_ERROR: ['清洁或更换投影机的滤网（见投影机说明书），然后在菜单中把滤网计时清零。'],
  PJLINK_OTHER_WARNING: ['断开投影机电源一分钟后再打开；如果故障仍在，需要工程师处理。'],
  PJLINK_OTHER_ERROR: ['断开投影机电源一分钟后再打开；如果故障仍在，需要工程师处理。'],
  LAMP_END_OF_LIFE: ['投影机灯泡快到寿命了：请现在就订购替换灯泡，免得教室没有投影机可用。'],
  DISK_NEARLY_FULL: ['删除或移走教室电脑上旧的录像和下载文件；清空回收站。'],
  CPU_SUSTAINED_HIGH: ['关闭上课用不到的程序；如果电脑一直很慢，请重启。'],
  NETWORK_RTT_HIGH: ['上课期间停止校园网上的大文件下载和系统更新。', '教室电脑尽量用网线连接，不用 Wi-Fi。'],
  NETWORK_LOSS_HIGH: ['教室电脑尽量用网线连接；检查网线和交换机端口。', '上课期间停止校园网上的大文件下载。'],
  NETWORK_JITTER_HIGH: ['教室电脑尽量用网线连接，不用 Wi-Fi。', '上课期间停止校园网上的大文件下载和系统更新。'],
  NETWORK_VIDEO_THROTTLED: ['请学校网络管理员检查防火墙或 QoS 策略是否限制了 UDP 或视频流量，并为教室电脑放行。'],
  NETWORK_NO_MEDIA_PATH: ['请学校网络管理员放行到 avcare 反射服务器的 UDP（地址和端口见工单）。'],
  AV_SYNC_OUT_OF_TOLERANCE: ['检查摄像头和麦克风是否直接插在电脑上，而不是经过集线器或延长线。', '重启视频会议软件。'],
};
