<#
.SYNOPSIS
  Install photosift for this Windows user and start it.

.DESCRIPTION
  Creates a virtualenv in %LOCALAPPDATA%\photosift\venv with photosift from this checkout, writes a
  starter config naming the folders to index (-Folder, else your Pictures folder), adds Startup-folder
  shortcuts for the daemon and the tray app (so both start when you sign in), starts them now, and adds
  "Find similar images" to Explorer's menu for images (per user, no administrator needed).
  Not tested by photosift's suite (it runs on Linux); see docs/desktop.md.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install\install.ps1 -Folder D:\Photos
.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install\install.ps1 -Uninstall   # keeps the index
#>
param(
    [string[]]$Folder = @(),
    [switch]$Uninstall,
    [switch]$Purge
)
$ErrorActionPreference = "Stop"
$Source = Split-Path -Parent $PSScriptRoot
$Venv = Join-Path $env:LOCALAPPDATA "photosift\venv"
$Python = Join-Path $Venv "Scripts\python.exe"
$Pythonw = Join-Path $Venv "Scripts\pythonw.exe"
$Photosift = Join-Path $Venv "Scripts\photosift.exe"
$Startup = [Environment]::GetFolderPath("Startup")
$Shortcuts = @{ "photosift daemon.lnk" = "daemon"; "photosift tray.lnk" = "tray" }
$Torch = if ($env:PHOTOSIFT_TORCH) { $env:PHOTOSIFT_TORCH -split " " } else { @("torch==2.14.1", "torchvision==0.29.1") }

if ($Uninstall) {
    if (-not (Test-Path $Photosift)) { Write-Error "no photosift installation in $Venv"; exit 1 }
    & $Photosift shell-ext uninstall --target windows
    & $Photosift service uninstall   # stops the daemon (and closes the tray) where they run
    foreach ($name in $Shortcuts.Keys) { Remove-Item -ErrorAction SilentlyContinue (Join-Path $Startup $name) }
    $Places = & $Python -c "from photosift.daemon import paths; print(paths.data_dir()); print(paths.cache_dir()); print(paths.config_file())"
    Remove-Item -Recurse -Force $Venv
    Write-Output "removed $Venv"
    if ($Purge) {
        foreach ($place in $Places) { Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $place; Write-Output "removed $place" }
    } else {
        Write-Output "kept the index and your config (-Uninstall -Purge removes them too)"
    }
    exit 0
}

# Windows PowerShell 5.1 has no "??": the launcher py.exe where installed, else python.exe
$Base = Get-Command py -ErrorAction SilentlyContinue
if (-not $Base) { $Base = Get-Command python -ErrorAction Stop }
Write-Output "Installing photosift into $Venv (a few minutes the first time)..."
if (-not (Test-Path $Python)) {
    if ($Base.Name -eq "py.exe") { & $Base.Source -3 -m venv $Venv } else { & $Base.Source -m venv $Venv }
}
& $Python -m pip install --quiet --upgrade pip
& $Python -m pip install --quiet @Torch
& $Python -m pip install --quiet $Source

$Config = & $Python -c "from photosift.daemon import paths; print(paths.config_file())"
if (-not (Test-Path $Config)) {
    $Resolved = @($Folder | ForEach-Object { (Resolve-Path $_).Path })
    & $Python -c @"
import json, sys
from pathlib import Path
from photosift.daemon import atomic
config, folders = Path(sys.argv[1]), sys.argv[2:]
lines = ["# photosift's configuration: every key is optional; docs/configuration.md lists them all.", ""]
lines.append("folders = [" + ", ".join(json.dumps(f) for f in folders) + "]" if folders else "# folders = [\"~/Pictures\"]")
atomic.write_text(config, "\n".join(lines) + "\n")
print(f"wrote {config}")
"@ $Config @Resolved
} else {
    Write-Output "keeping your config: $Config"
    foreach ($f in $Folder) { & $Photosift folders add (Resolve-Path $f).Path }
}

# Startup-folder shortcuts: pythonw runs them without a console window
$Shell = New-Object -ComObject WScript.Shell
foreach ($name in $Shortcuts.Keys) {
    $Link = $Shell.CreateShortcut((Join-Path $Startup $name))
    $Link.TargetPath = $Pythonw
    $Link.Arguments = "-m photosift.daemon $($Shortcuts[$name])"
    $Link.WorkingDirectory = $env:USERPROFILE
    $Link.Save()
    Start-Process -FilePath $Pythonw -ArgumentList "-m", "photosift.daemon", $Shortcuts[$name] -WindowStyle Hidden
}
& $Photosift shell-ext install --target windows
Write-Output ""
Write-Output "photosift is installed and running. Try: $Photosift status"
