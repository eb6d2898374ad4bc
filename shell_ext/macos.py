"""Finder: a Quick Action ("Find similar images" under Quick Actions / Services for images).

A Quick Action is an Automator workflow bundle in ~/Library/Services: Info.plist
declares the service (images, in Finder) and document.wflow holds one "Run
Shell Script" action that receives the selected files as arguments. Both are
property lists, written here with plistlib.
"""

from __future__ import annotations

import plistlib
import uuid
from pathlib import Path

from .common import ACTION, Generated, shell_command, similar_argv

BUNDLE = Path("Library/Services") / f"{ACTION}.workflow"


def info_plist() -> bytes:
    return plistlib.dumps({
        "CFBundleName": ACTION,
        "CFBundleIdentifier": "org.photosift.find-similar",
        "NSServices": [{
            "NSMenuItem": {"default": ACTION},
            "NSMessage": "runWorkflowAsService",
            "NSRequiredContext": {"NSApplicationIdentifier": "com.apple.finder"},
            "NSSendFileTypes": ["public.image"],
        }],
    })


def document_wflow(photosift: list[str]) -> bytes:
    script = f'exec {shell_command(similar_argv(photosift))} "$@"\n'
    action = {
        "AMAccepts": {"Container": "List", "Optional": True, "Types": ["com.apple.cocoa.path"]},
        "AMActionVersion": "2.0.3",
        "AMApplication": ["Automator"],
        "AMParameterProperties": {key: {} for key in
                                  ("COMMAND_STRING", "CheckedForUserDefaultShell", "inputMethod", "shell", "source")},
        "AMProvides": {"Container": "List", "Types": ["com.apple.cocoa.string"]},
        "ActionBundlePath": "/System/Library/Automator/Run Shell Script.action",
        "ActionName": "Run Shell Script",
        "ActionParameters": {"COMMAND_STRING": script, "CheckedForUserDefaultShell": True,
                             "inputMethod": 1, "shell": "/bin/sh", "source": ""},  # 1: input as arguments
        "BundleIdentifier": "com.apple.RunShellScript",
        "CFBundleVersion": "2.0.3",
        "CanShowSelectedItemsWhenRun": False,
        "CanShowWhenRun": True,
        "Class Name": "RunShellScriptAction",
        "InputUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, "photosift:input")).upper(),
        "OutputUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, "photosift:output")).upper(),
        "UUID": str(uuid.uuid5(uuid.NAMESPACE_URL, "photosift:action")).upper(),
        "isViewVisible": True,
    }
    return plistlib.dumps({
        "AMApplicationBuild": "521",
        "AMApplicationVersion": "2.10",
        "AMDocumentVersion": "2",
        "actions": [{"action": action}],
        "connectors": {},
        "workflowMetaData": {
            "serviceInputTypeIdentifier": "com.apple.Automator.fileSystemObject.image",
            "serviceOutputTypeIdentifier": "com.apple.Automator.nothing",
            "serviceProcessesInput": 0,
            "workflowTypeIdentifier": "com.apple.Automator.servicesMenu",
        },
    })


def quick_action(photosift: list[str]) -> list[Generated]:
    """The workflow bundle's files (plists as text: plistlib writes XML)."""
    return [Generated(BUNDLE / "Contents" / "Info.plist", info_plist().decode()),
            Generated(BUNDLE / "Contents" / "document.wflow", document_wflow(photosift).decode())]
