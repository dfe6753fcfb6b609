#Requires -Version 5.1
<#
.SYNOPSIS
  Installs the avcare agent on a Windows 10/11 classroom PC as a service, or removes it.

.DESCRIPTION
  Run it from PowerShell opened with "Run as administrator". It checks Node.js (>= 20; offers to
  install the LTS with winget), installs the avcare package (from the source tree this script sits
  in, or from the npm registry with -FromNpm), makes the service with WinSW (the service wrapper
  node-windows ships, from the npm registry too), starts at boot and restarts after a failure,
  keeps %ProgramData%\avcare (configuration, credentials, state, logs) readable only by the
  service, SYSTEM and administrators, and with -Cloud and -Token enrolls the PC. Run it again to
  upgrade: agent.json is never overwritten.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install.ps1 -Cloud https://avcare.example.edu.cn -Token avc_et_... -Room r101

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install.ps1 -Uninstall -Purge
#>
[CmdletBinding()]
param(
  # The avcare cloud this PC reports to, e.g. https://avcare.example.edu.cn
  [string]$Cloud = '',
  # The enrollment token a school admin created (avcare-cloud enroll-tokens create).
  [string]$Token = '',
  # The room of this PC (default: the token's room, or the computer name).
  [string]$Room = '',
  # schoolId for a new agent.json, without -Cloud.
  [string]$School = '',
  # The cloud's CA certificate (PEM) when Windows does not trust it; copied into %ProgramData%\avcare.
  [string]$Ca = '',
  # Allow an http:// -Cloud on another machine (the token crosses the network in clear).
  [switch]$InsecurePlaintext,
  # Install avcare from the npm registry (a version, or latest) instead of from this source tree.
  [string]$FromNpm = '',
  # Answer yes to questions (installing Node.js with winget).
  [switch]$Yes,
  # Print every command and file the script would run or write; change nothing.
  [switch]$DryRun,
  # Remove the service and the package; keeps %ProgramData%\avcare unless -Purge.
  [switch]$Uninstall,
  # With -Uninstall: also delete %ProgramData%\avcare (configuration, credentials, logs).
  [switch]$Purge,
  # The service's account: its own virtual account (least privilege), or LocalSystem, which can also
  # read each signed-in teacher's camera and microphone switches (HKEY_USERS).
  [ValidateSet('Virtual', 'LocalSystem')]
  [string]$ServiceAccount = 'Virtual'
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$PackageName = 'avcare'
$ServiceId = 'avcare-agent'
# A virtual account: the service's own identity, no password, no rights beyond what is granted here.
$ServiceLogon = if ($ServiceAccount -eq 'LocalSystem') { 'LocalSystem' } else { "NT SERVICE\$ServiceId" }
$MinNodeVersion = [version]'20.0.0'
# WinSW 1.17 (MIT), as node-windows ships it: the npm registry is reachable where GitHub may not be.
$WinSwPackage = 'node-windows@1.0.0-beta.8'
$StateDir = Join-Path $env:ProgramData 'avcare'
$ConfigFile = Join-Path $StateDir 'agent.json'
$CaFileInstalled = Join-Path $StateDir 'cloud-ca.pem'
$InstallDir = Join-Path $env:ProgramFiles 'avcare'
$WrapperExe = Join-Path $InstallDir "$ServiceId.exe"
# npm's global folder is in the administrator's own profile, which the service's account cannot
# read: the package goes to a prefix of its own under Program Files instead.
$NpmPrefix = Join-Path $InstallDir 'npm'
$NpmRoot = Join-Path $NpmPrefix 'node_modules'
$SourceDir = $PSScriptRoot
# The requests waiting for an answer, readable by every person at the PC (the service writes them),
# and the logon task that shows them as a notice in each person's session.
$NoticeDir = Join-Path $env:ProgramData 'avcare-notices'
$NoticeTask = 'avcare session requests'

function Say([string]$Message) { Write-Host "avcare: $Message" }
function Note([string]$Message) { Write-Host "avcare: note: $Message" }
function Die([string]$Message) {
  Write-Host "avcare: error: $Message" -ForegroundColor Red
  exit 1
}

# Runs a program, or says what it would run; a failure ends the script with the program's exit code.
# $Shown replaces the command line in what is printed (the enrollment token must not reach a screenshot).
function Invoke-Step {
  param([string]$File, [string[]]$Arguments, [string]$Shown = '')
  $display = if ($Shown -ne '') { $Shown } else { "$File $($Arguments -join ' ')" }
  if ($DryRun) {
    Write-Host "[dry-run] would run: $display"
    return
  }
  Write-Host "+ $display"
  & $File @Arguments
  if ($LASTEXITCODE -ne 0) {
    Die "$display failed (exit code $LASTEXITCODE)"
  }
}

function Test-Arguments {
  if ($Purge -and -not $Uninstall) { Die '-Purge only goes with -Uninstall' }
  if ($Uninstall -and ($Cloud -or $Token -or $Room -or $School -or $FromNpm)) { Die '-Cloud, -Token, -Room, -School and -FromNpm do not go with -Uninstall' }
  if ($Cloud -and -not $Token) { Die '-Cloud needs -Token (the enrollment token a school admin created)' }
  if ($Token -and -not $Cloud) { Die "-Token needs -Cloud (the cloud's address)" }
  if ($Cloud -and $Cloud -notmatch '^https?://[^\s/]+/?$') { Die "bad value for -Cloud: '$Cloud' (https://HOST[:PORT], e.g. https://avcare.example.edu.cn)" }
  if ($Token -and $Token -notmatch '^[A-Za-z0-9_-]{10,200}$') { Die "bad value for -Token (copy it exactly as 'avcare-cloud enroll-tokens create' printed it)" }
  # protocol/ids.ts topicIdSchema
  foreach ($id in @($Room, $School)) {
    if ($id -and $id -notmatch '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$') { Die "bad id '$id': letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit" }
  }
  if ($Ca -and -not $Cloud) { Die '-Ca goes with -Cloud' }
  if ($School -and $Cloud) { Die '-School does not go with -Cloud: the enrollment token names the school' }
  if ($FromNpm -and $FromNpm -notmatch '^[A-Za-z0-9][A-Za-z0-9.+-]*$') { Die "bad version for -FromNpm: '$FromNpm'" }
}

function Assert-Administrator {
  $principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
  if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    if ($DryRun) {
      Note 'not running as administrator: fine for -DryRun, required for the real thing'
      return
    }
    Die 'run this from PowerShell opened with "Run as administrator" (the service and %ProgramData%\avcare need it)'
  }
}

# --- Node.js ------------------------------------------------------------------------------------

function Get-NodeVersion {
  $node = Get-Command node -ErrorAction SilentlyContinue
  if (-not $node) { return $null }
  $text = (& $node.Source --version) -replace '^v', ''
  try { return [version]$text } catch { return $null }
}

function Confirm-Step([string]$Question) {
  if ($Yes -or $DryRun) { return $true }
  $answer = Read-Host "$Question [y/N]"
  return $answer -match '^(y|yes|是)$'
}

function Install-NodeIfNeeded {
  $current = Get-NodeVersion
  if ($current -and $current -ge $MinNodeVersion) {
    Say "Node.js $current found (avcare needs >= $MinNodeVersion)"
    return
  }
  $problem = if ($current) { "Node.js $current is older than $MinNodeVersion" } else { 'Node.js is not installed' }
  $winget = Get-Command winget -ErrorAction SilentlyContinue
  if (-not $winget) { Die "$problem; install the Node.js LTS for Windows (x64 .msi, from nodejs.org or a mirror such as npmmirror.com/mirrors/node) and run install.ps1 again" }
  if (-not (Confirm-Step "$problem. Install the Node.js LTS with winget?")) { Die "$problem; install Node.js >= $MinNodeVersion and run install.ps1 again" }
  Invoke-Step winget @('install', '--id', 'OpenJS.NodeJS.LTS', '--exact', '--silent', '--accept-package-agreements', '--accept-source-agreements')
  if ($DryRun) { return }
  # winget changed the machine's PATH: read it again rather than ask for a new window.
  $env:Path = [Environment]::GetEnvironmentVariable('Path', 'Machine') + ';' + [Environment]::GetEnvironmentVariable('Path', 'User')
  $current = Get-NodeVersion
  if (-not $current -or $current -lt $MinNodeVersion) { Die "Node.js is still missing or too old after installing ($current); install Node.js >= $MinNodeVersion yourself" }
}

# --- the avcare package ---------------------------------------------------------------------------

function Test-SourceTree {
  # tsconfig.build.json is not in the npm package's files: only a clone has it.
  $package = Join-Path $SourceDir 'package.json'
  return (Test-Path (Join-Path $SourceDir 'tsconfig.build.json')) -and (Test-Path $package) -and ((Get-Content -Raw $package) -match '"name":\s*"avcare"')
}

function Install-AvcarePackage {
  if ($FromNpm) {
    Say "installing $PackageName@$FromNpm from the npm registry"
    Invoke-Step npm @('install', '-g', '--prefix', $NpmPrefix, '--no-audit', '--no-fund', "$PackageName@$FromNpm")
  } elseif (Test-SourceTree) {
    Say "installing avcare from the source tree $SourceDir"
    $pack = Join-Path ([IO.Path]::GetTempPath()) "avcare-pack-$PID"
    if (-not $DryRun) { New-Item -ItemType Directory -Force -Path $pack | Out-Null }
    # package.json "prepare" builds during both npm ci and npm pack, so the tarball holds a fresh dist.
    Push-Location $SourceDir
    try {
      Invoke-Step npm @('ci', '--no-audit', '--no-fund')
      Invoke-Step npm @('pack', '--pack-destination', $pack)
    } finally {
      Pop-Location
    }
    $tarball = if ($DryRun) { Join-Path $pack 'avcare-VERSION.tgz' } else { (Get-ChildItem -Path $pack -Filter 'avcare-*.tgz' | Select-Object -First 1).FullName }
    if (-not $tarball) { Die "npm pack left no avcare-*.tgz in $pack" }
    Invoke-Step npm @('install', '-g', '--prefix', $NpmPrefix, '--no-audit', '--no-fund', $tarball)
  } else {
    Die "install.ps1 is not inside an avcare source tree ($SourceDir): run it from a clone of the repository, or pass -FromNpm latest"
  }
}

function Get-AgentEntry {
  $entry = Join-Path $NpmRoot "$PackageName\dist\agent\cli.js"
  if (-not $DryRun -and -not (Test-Path $entry)) { Die "the package did not install $entry" }
  return $entry
}

# avcare-agent.cmd is in the prefix: on the machine's PATH, a new PowerShell window finds it.
function Add-ToMachinePath {
  $path = [Environment]::GetEnvironmentVariable('Path', 'Machine')
  if (($path -split ';') -contains $NpmPrefix) { return }
  if ($DryRun) {
    Write-Host "[dry-run] would add $NpmPrefix to the machine's PATH"
    return
  }
  [Environment]::SetEnvironmentVariable('Path', "$path;$NpmPrefix", 'Machine')
}

function Remove-FromMachinePath {
  $path = [Environment]::GetEnvironmentVariable('Path', 'Machine')
  $kept = ($path -split ';') | Where-Object { $_ -and $_ -ne $NpmPrefix }
  if ($kept.Count -eq ($path -split ';' | Where-Object { $_ }).Count) { return }
  if ($DryRun) {
    Write-Host "[dry-run] would remove $NpmPrefix from the machine's PATH"
    return
  }
  [Environment]::SetEnvironmentVariable('Path', ($kept -join ';'), 'Machine')
}

# --- state directory and its access ---------------------------------------------------------------

# Inheritance from %ProgramData% (which lets every user read) is cut before anything is written:
# SYSTEM and administrators only, until the service's account exists and is granted modify.
function Protect-StateDir {
  if ($DryRun) {
    Write-Host "[dry-run] would create $StateDir"
  } else {
    New-Item -ItemType Directory -Force -Path $StateDir | Out-Null
  }
  Invoke-Step icacls @($StateDir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F')
}

function Grant-ServiceAccess {
  # LocalSystem has full control already (SYSTEM above).
  if ($ServiceLogon -ne 'LocalSystem') { Invoke-Step icacls @($StateDir, '/grant:r', "${ServiceLogon}:(OI)(CI)M") }
}

function Install-Config {
  if (Test-Path $ConfigFile) {
    Say "keeping your $ConfigFile"
    if ($School -or $Room) { Note "-School/-Room were not applied because $ConfigFile already exists; edit schoolId/roomId there" }
    return
  }
  $config = [ordered]@{}
  # Enrolled, the school, agent and room come with the PC's identity (avcare-agent enroll).
  if (-not $Cloud) {
    $config.schoolId = if ($School) { $School } else { 'unassigned' }
    if ($Room) { $config.roomId = $Room }
  }
  $config.serialPorts = @()
  $config.pjlink = @()
  $json = $config | ConvertTo-Json
  if ($DryRun) {
    Write-Host "[dry-run] would write $ConfigFile`:`n$json"
    return
  }
  # UTF-8 without a byte-order mark: Windows PowerShell's -Encoding UTF8 would add one.
  [IO.File]::WriteAllText($ConfigFile, $json + "`n", (New-Object Text.UTF8Encoding($false)))
}

function Install-CloudCa {
  if (-not $Ca) { return }
  if (-not (Test-Path $Ca)) { Die "cannot read -Ca $Ca" }
  if ($DryRun) {
    Write-Host "[dry-run] would copy $Ca to $CaFileInstalled"
    return
  }
  Copy-Item -Force $Ca $CaFileInstalled
}

# --- the service ----------------------------------------------------------------------------------

function Install-Wrapper {
  $winsw = Join-Path $NpmRoot 'node-windows\bin\winsw\winsw.exe'
  if (-not (Test-Path $winsw)) { Invoke-Step npm @('install', '-g', '--prefix', $NpmPrefix, '--no-audit', '--no-fund', $WinSwPackage) }
  if ($DryRun) {
    Write-Host "[dry-run] would copy $winsw to $WrapperExe"
    return
  }
  New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
  Copy-Item -Force $winsw $WrapperExe
  Copy-Item -Force "$winsw.config" "$WrapperExe.config"
}

function Install-Service([string]$Node, [string]$Entry) {
  # The XML beside the wrapper comes from the agent itself (agent/platform/windows/windows-platform.ts).
  Invoke-Step $Node @($Entry, 'service-definition', '--platform', 'windows', '--node', $Node, '--write')
  if (Get-Service -Name $ServiceId -ErrorAction SilentlyContinue) {
    # An upgrade: stopped here, started again with the new package and definition below.
    if ($DryRun) { Write-Host "[dry-run] would stop the service $ServiceId" } else { Stop-Service -Name $ServiceId -ErrorAction SilentlyContinue }
  } else {
    Invoke-Step $WrapperExe @('install')
  }
  Invoke-Step sc.exe @('config', $ServiceId, 'obj=', $ServiceLogon)
  Grant-ServiceAccess
}

function Install-NoticeBoard {
  if ($DryRun) { Write-Host "[dry-run] would create $NoticeDir" } else { New-Item -ItemType Directory -Force -Path $NoticeDir | Out-Null }
  # Users (S-1-5-32-545) read; the service writes; nobody else changes it.
  Invoke-Step icacls @($NoticeDir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F', '*S-1-5-32-545:(OI)(CI)RX')
  if ($ServiceLogon -ne 'LocalSystem') { Invoke-Step icacls @($NoticeDir, '/grant:r', "${ServiceLogon}:(OI)(CI)M") }
}

# consent watch --notify at each person's logon, as that person, its window hidden.
function Install-NoticeWatch([string]$Node, [string]$Entry) {
  # The Users group by its SID: its name is translated on a Chinese Windows.
  $users = (New-Object Security.Principal.SecurityIdentifier('S-1-5-32-545')).Translate([Security.Principal.NTAccount]).Value
  $command = "& '$($Node.Replace("'", "''"))' '$($Entry.Replace("'", "''"))' consent watch --notify"
  if ($DryRun) {
    Write-Host "[dry-run] would register the logon task '$NoticeTask' for ${users}: powershell.exe -NoProfile -WindowStyle Hidden -Command $command"
    return
  }
  $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument "-NoProfile -WindowStyle Hidden -Command `"$command`""
  $trigger = New-ScheduledTaskTrigger -AtLogOn
  $principal = New-ScheduledTaskPrincipal -GroupId $users -RunLevel Limited
  $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -Hidden -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
  Register-ScheduledTask -TaskName $NoticeTask -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force | Out-Null
}

function Invoke-Enrollment([string]$Node, [string]$Entry) {
  if (-not $Cloud) { return }
  $arguments = @($Entry, 'enroll', '--cloud', $Cloud, '--token', $Token)
  if ($Room) { $arguments += @('--room', $Room) }
  if ($Ca) { $arguments += @('--ca', $CaFileInstalled) }
  if ($InsecurePlaintext) { $arguments += '--insecure-plaintext' }
  $env:AVCARE_CONFIG = $ConfigFile
  $env:STATE_DIRECTORY = $StateDir
  Invoke-Step $Node $arguments -Shown ("$Node " + ($arguments -join ' ')).Replace($Token, '[token]')
}

# --- actions --------------------------------------------------------------------------------------

function Install-Avcare {
  Install-NodeIfNeeded
  $node = if ($DryRun -and -not (Get-Command node -ErrorAction SilentlyContinue)) { 'C:\Program Files\nodejs\node.exe' } else { (Get-Command node).Source }
  Install-AvcarePackage
  $entry = Get-AgentEntry
  Add-ToMachinePath
  Protect-StateDir
  Install-Config
  Install-CloudCa
  Install-Wrapper
  Install-Service $node $entry
  Install-NoticeBoard
  Install-NoticeWatch $node $entry
  Invoke-Enrollment $node $entry
  Invoke-Step $WrapperExe @('start')
  if ($DryRun) {
    Say 'dry run finished: nothing was changed'
    return
  }
  if ($Cloud) { Say "installed and enrolled with $Cloud. Next: add serial cameras and projectors to $ConfigFile (serialPorts, pjlink)," }
  else { Say "installed. Next: enroll the PC (install.ps1 -Cloud URL -Token TOKEN), and edit $ConfigFile (serialPorts, pjlink)," }
  Say "then check the PC with 'avcare-agent doctor'; the service's log is in $StateDir\logs."
}

function Uninstall-Avcare {
  if (Get-Service -Name $ServiceId -ErrorAction SilentlyContinue) {
    if (Test-Path $WrapperExe) {
      if ($DryRun) { Write-Host "[dry-run] would stop the service $ServiceId" } else { Stop-Service -Name $ServiceId -ErrorAction SilentlyContinue }
      Invoke-Step $WrapperExe @('uninstall')
    } else {
      if ($DryRun) { Write-Host "[dry-run] would stop the service $ServiceId" } else { Stop-Service -Name $ServiceId -ErrorAction SilentlyContinue }
      Invoke-Step sc.exe @('delete', $ServiceId)
    }
  } else {
    Note "no service $ServiceId to remove"
  }
  # The wrapper, its definition and the package (its own npm prefix) are all under it.
  if (Test-Path $InstallDir) {
    if ($DryRun) { Write-Host "[dry-run] would remove $InstallDir" } else { Remove-Item -Recurse -Force $InstallDir }
  } else {
    Note "no $InstallDir to remove"
  }
  Remove-FromMachinePath
  if ($DryRun) { Write-Host "[dry-run] would remove the logon task '$NoticeTask' and $NoticeDir" } else {
    Unregister-ScheduledTask -TaskName $NoticeTask -Confirm:$false -ErrorAction SilentlyContinue
    if (Test-Path $NoticeDir) { Remove-Item -Recurse -Force $NoticeDir }
  }
  if ($Purge) {
    if ($DryRun) { Write-Host "[dry-run] would remove $StateDir" } elseif (Test-Path $StateDir) { Remove-Item -Recurse -Force $StateDir }
  } else {
    Note "kept $StateDir (add -Purge to delete it)"
  }
  if ($DryRun) { Say 'dry run finished: nothing was changed' } else { Say 'avcare removed' }
}

Test-Arguments
Assert-Administrator
if ($Uninstall) { Uninstall-Avcare } else { Install-Avcare }
