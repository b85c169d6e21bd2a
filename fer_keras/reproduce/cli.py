"""The command line of `python -m fer_keras.reproduce` (list, run, campaign, report, publish,
card)."""

import argparse
import json
import os
import sys
from pathlib import Path

from fer_keras.reproduce import campaign, published
from fer_keras.reproduce.against_paper import against_paper_figures
from fer_keras.reproduce.cards import publish, rewrite_cards
from fer_keras.reproduce.figures import figures
from fer_keras.reproduce.intro import intro
from fer_keras.reproduce.report import report, update_readme
from fer_keras.reproduce.runner import fold_finished, plan, run_jobs, train_command
from fer_keras.reproduce.runs import TABLES


DESCRIPTION = "the papers' tables, rerun row by row and regenerated from runs (docs/reproduction.md)"


def build_parser():
    p = argparse.ArgumentParser(prog="python -m fer_keras.reproduce",
                                description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the tables, their rows and protocols")
    r = sub.add_parser("run", help="train the unfinished folds of the selected experiments")
    r.add_argument("--table", action="append", choices=sorted(TABLES), required=True)
    r.add_argument("--dataset", action="append", required=True)
    r.add_argument("--rows", nargs="+", help="row keys (default: every row)")
    r.add_argument("--protocol", action="append",
                   help="default: the table's paper protocol and the leakage-free one")
    r.add_argument("--protocol-options", type=json.loads,
                   help='JSON options of every selected protocol, e.g. \'{"validation": "none"}\'')
    r.add_argument("--test-each-epoch", action="store_true",
                   help="record the test accuracy of every epoch (for the papers' practice)")
    r.add_argument("--seeds", nargs="+", type=int, default=[0])
    r.add_argument("--epochs", type=int, help="the budget of every row (default: the preset)")
    r.add_argument("--data-root", default="../shared/data",
                   help="folder holding DATASET/ folders or DATASET.npz.xz packs")
    r.add_argument("--study", default="studies/main", help="the study folder")
    r.add_argument("--jobs", type=int, default=1, help="folds trained at a time")
    r.add_argument("--time-limit", type=float, help="seconds per fold (see train --time-limit)")
    r.add_argument("--max-time", type=float, help="start no fold after this many seconds")
    r.add_argument("--together", action="store_true",
                   help="one process per experiment training all its folds together with the "
                        "JAX device engine (--engine device), instead of one per fold")
    r.add_argument("--dry-run", action="store_true", help="print the fold commands only")
    pub = sub.add_parser("publish", help="copy a trained fold into saved_models/ with a card")
    pub.add_argument("fold", help="a fold folder (model.keras, metrics.json, history.csv)")
    pub.add_argument("--name", required=True, help="e.g. i_mobilenetv2_fer2013")
    pub.add_argument("--models-dir", default="saved_models")
    card = sub.add_parser("card", help="rewrite published models' cards from their metrics.json")
    card.add_argument("names", nargs="+", help="published model folders' names")
    card.add_argument("--models-dir", default="saved_models")
    c = sub.add_parser("campaign", help="work through the committed queue of long training runs "
                       "(studies/campaign.toml) in the background until a given time")
    c.add_argument("--until", metavar="HH:MM", help="stop before this time (without it: the "
                   "status only)")
    c.add_argument("--queue", default=str(campaign.QUEUE), help="the queue file (TOML)")
    c.add_argument("--status", action="store_true", help="print what is done and what is next")
    c.add_argument("--pause", action="store_true",
                   help="pause the running campaign's training (SIGSTOP), e.g. to benchmark")
    c.add_argument("--continue", dest="resume", action="store_true",
                   help="continue a paused campaign (SIGCONT)")
    c.add_argument("--stop", action="store_true",
                   help="stop the campaign after its current epoch (SIGTERM: the fold writes its "
                   "metrics.json and carry, the campaign ends)")
    _report_parser(sub)
    return p


def _report_parser(sub):
    g = sub.add_parser("report", help="the Markdown tables from finished runs")
    g.add_argument("--study", nargs="+", default=["studies/main"])
    g.add_argument("--output", help="write here instead of standard output")
    g.add_argument("--readme", help="also rewrite the generated blocks of this README (the "
                   "results summary, the published models' table)")
    g.add_argument("--deployment", metavar="PAGE", help="also rewrite the published models' "
                   "calibration and package-copy tables of this page (docs/deployment.md)")
    g.add_argument("--models-dir", default=str(published.MODELS_DIR),
                   help="the published models' folder (default: saved_models)")
    g.add_argument("--campaign", metavar="QUEUE", help="also list the campaign queue's runs "
                   "with their epochs and hours (e.g. studies/campaign.toml)")
    g.add_argument("--figures", action="store_true",
                   help="also draw each table against the paper, the confusion matrices and "
                        "the accuracy curves into OUTPUT's folder/figures/ and show them")


def list_tables():
    for t in TABLES.values():
        print(f"{t.name}: {t.title}")
        for d, protocols in t.protocols.items():
            print(f"  {d}: protocols {', '.join(dict.fromkeys(protocols))}")
            if d in t.practice:
                p = t.practice[d]
                print(f"  {d}: papers' practice {p.protocol} {json.dumps(p.options)}")
        for row in t.rows:
            print(f"  {row.key:<18} {row.model:<14} {row.overrides or ''} paper {row.paper}")


def write_report(args):
    """`report`: the README blocks (--readme) and docs/deployment.md's tables (--deployment),
    then the page (introduction, one section per study folder, figures) to --output or standard
    output."""
    command = "python -m fer_keras.reproduce report" + "".join(
        f" --{flag} {value}" for flag, value in (("readme", args.readme),
                                                 ("deployment", args.deployment)) if value)
    if args.readme:
        print(update_readme(args.readme, args.study))
        print(published.update_readme(args.readme, command, args.models_dir))
    if args.deployment:
        print(published.update_deployment(args.deployment, command, args.models_dir))
    text = intro(args.study, args.campaign)
    for study in args.study:
        text += f"## Runs in `{study}`\n\n" + report([study]) + "\n"
    if args.campaign:
        text += "\n" + campaign.report_section(campaign.read_queue(args.campaign))
    if args.output and args.figures:
        folder = Path(args.output).parent / "figures"
        text += "\n" + "\n".join(against_paper_figures(args.study, folder)
                                 + figures(args.study, folder))
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)


def run(args):
    """`run`: plan the selected experiments' folds and train the unfinished ones."""
    budget = dict(epochs=args.epochs, protocol_options=args.protocol_options,
                  test_each_epoch=args.test_each_epoch or None,
                  engine="device" if args.together else None)
    tables = [TABLES[name] for name in args.table]
    jobs = plan(tables, args.dataset, args.rows, args.protocol, args.seeds, args.data_root,
                args.study, together=args.together, **budget)
    if args.dry_run:
        for config, fold in jobs:
            state = "finished" if fold_finished(config, fold) else "to run"
            print(f"# {state}\n" + " ".join(train_command(config, fold, args.time_limit)))
        return 0
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false")
    result = run_jobs(jobs, args.jobs, args.time_limit, args.max_time, env=env)
    print(json.dumps({k: len(v) for k, v in result.items()}))
    return 1 if result["failed"] else 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "list":
        list_tables()
    elif args.command == "card":
        for path in rewrite_cards(args.names, args.models_dir):
            print(path)
    elif args.command == "publish":
        print(publish(args.fold, args.name, args.models_dir))
    elif args.command == "report":
        write_report(args)
    elif args.command == "campaign":
        return campaign.main(args)
    else:
        return run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
