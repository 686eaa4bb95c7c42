"""`service-desk-robot models list|install`: the ASR models the asr node can use.

    service-desk-robot models list
    service-desk-robot models install https://.../vosk-model-small-vn-0.4.zip --lang vi --sha256 HEX
    service-desk-robot models install ./vosk-model-small-en-us-0.15 --lang en

The models folder is --models-dir, else $SERVICE_DESK_MODELS_DIR, else the user's data dir
(service_desk_robot.speech.models).
"""

from __future__ import annotations

import argparse
import sys

HELP = "list or install the speech-recognition (Vosk) models of each language"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir", default="", help="models folder (default: $SERVICE_DESK_MODELS_DIR or data dir)"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="show installed models; * marks each language's active one")
    install = actions.add_parser("install", help="install a model from a URL, an archive or a folder")
    install.add_argument(
        "source", metavar="SOURCE", help="http(s):// or file:// URL, zip/tar archive or model folder"
    )
    install.add_argument("--lang", required=True, choices=("vi", "en"), help="language the model recognises")
    install.add_argument("--sha256", default=None, metavar="HEX", help="expected SHA-256 of the archive")
    install.add_argument("--name", default=None, help="folder name of the model (default: from the archive)")
    install.add_argument("--force", action="store_true", help="replace an installed model of the same name")
    install.add_argument("--timeout", type=float, default=120.0, help="download timeout in seconds")


def run(args: argparse.Namespace) -> int:
    from service_desk_robot.speech.errors import SpeechError
    from service_desk_robot.speech.models import LANGUAGES, ModelStore

    store = ModelStore(args.models_dir or None)
    try:
        if args.action == "list":
            models = store.list()
            print(f"models folder: {store.folder}")
            if not models:
                print("no models installed")
            active = {lang: store.active(lang) for lang in LANGUAGES}
            for model in models:
                mark = "*" if active.get(model.language) == model else " "
                size_mb = model.size_bytes / 1e6
                print(f"{mark} {model.language}  {model.name:<36} {size_mb:8.1f} MB  {model.installed_at}")
                print(f"      {model.path}")
            for lang in LANGUAGES:
                if active[lang] is None:
                    print(f"  {lang}  (none: the asr node cannot hear {lang}; see `models install --help`)")
            return 0
        model = store.install(
            args.source,
            args.lang,
            sha256=args.sha256,
            name=args.name,
            force=args.force,
            timeout_s=args.timeout,
        )
        print(f"installed {model.name} for {model.language} in {model.path} (sha256 {model.sha256 or '-'})")
        return 0
    except SpeechError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
