"""`python -m fer_keras.data`: load a dataset, split it by a protocol, print a summary.

    python -m fer_keras.data --dataset ckplus --data-dir ../shared/data/ckplus --json
    python -m fer_keras.data --dataset ckplus --data-dir ../shared/data/ckplus --pack ckplus.npz.xz
"""

import argparse
import inspect
import json
import sys
import warnings


def _table(s):
    lines = [f"dataset      {s['dataset']}  ({s['num_examples']} images, "
             f"{'x'.join(map(str, s['image_shape']))}, fingerprint {s['fingerprint']})"]
    if s.get("expanded_num_examples"):
        lines.append(f"expanded to  {s['expanded_num_examples']} images")
    lines.append(f"subjects     {s['num_subjects']}")
    if s.get("usage_counts"):
        lines.append("usage        " + ", ".join(f"{k} {v}" for k, v in s["usage_counts"].items()))
    if "faces_detected" in s:
        lines.append(f"faces        {s['faces_detected']} detected, {s['default_crops']} default crops")
    lines.append("classes      " + ", ".join(f"{k} {v}" for k, v in s["class_counts"].items()))
    d = s["duplicates"]
    lines.append(f"duplicates   {d['duplicate_images']} images in {d['duplicate_groups']} groups "
                 f"({d['conflicting_label_groups']} with conflicting labels), "
                 f"{d['blank_images']} blank")
    lines.append(f"protocol     {s['protocol']}")
    lines.append(f"  {'fold':<20}{'train':>7}{'val':>7}{'test':>7}{'subj.ovl':>10}{'dup.ovl':>9}{'val.dup':>9}")
    for f in s["folds"]:
        ovl = "-" if f["subject_overlap"] is None else f["subject_overlap"]
        lines.append(f"  {f['name']:<20}{f['train']:>7}{f['val']:>7}{f['test']:>7}{ovl:>10}"
                     f"{f['duplicate_overlap']:>9}{f['val_duplicate_overlap']:>9}")
    for n in s["notes"]:
        lines.append(f"note: {n}")
    for path, what in s["converted_files"]:
        lines.append(f"converted: {path}: {what}")
    for path, what in s["skipped_files"]:
        lines.append(f"skipped: {what}")
    return "\n".join(lines)


def main(argv=None):
    from fer_keras.data import (
        DataError, dataset_loader, list_datasets, load_dataset, make_splits, summarize)

    p = argparse.ArgumentParser(prog="python -m fer_keras.data", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True, choices=list_datasets())
    p.add_argument("--data-dir", default=None, help="the folder as downloaded")
    p.add_argument("--dataset-options", type=json.loads, default={}, metavar="JSON",
                   help="loader options as a JSON object (as train's), e.g. "
                        "'{\"num_examples\": 350}' or AffectNet's '{\"classes\": 8}'")
    p.add_argument("--protocol", default=None, help="default: the dataset's leakage-free one")
    p.add_argument("--protocol-options", type=json.loads, default={}, metavar="JSON",
                   help="protocol options as a JSON object, e.g. "
                        "'{\"split_level\": \"frame\", \"validation\": \"none\"}'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-bad", action="store_true", help="skip bad files and report each one")
    p.add_argument("--drop-duplicates", action="store_true",
                   help="drop val/test images that exactly duplicate a training image")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--pack", metavar="FILE.npz.xz",
                   help="also write the loaded dataset to one compressed file that any loader "
                        "accepts as --data-dir (for machines without the raw folders)")
    args = p.parse_args(argv)
    if not isinstance(args.dataset_options, dict):
        p.error(f"--dataset-options must be a JSON object, got {args.dataset_options!r}")
    takes = inspect.signature(dataset_loader(args.dataset)).parameters  # the loader's options
    options = {"skip_bad": args.skip_bad} if "skip_bad" in takes else {}
    options.update(args.dataset_options)
    if "progress" in takes:
        options["progress"] = sys.stderr.isatty()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = load_dataset(args.dataset, args.data_dir, **options)
            splits = make_splits(ds, args.protocol, seed=args.seed,
                                 drop_duplicates=args.drop_duplicates, **args.protocol_options)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        summary = summarize(ds, splits)
        if args.pack:
            from fer_keras.data.packed import save_packed

            try:
                path = save_packed(ds, args.pack)
            except OSError as err:  # a full or read-only disk: nothing is left under the name
                print(f"error: {args.pack}: the pack was not written ({err.strerror or err}); "
                      "nothing was left under that name", file=sys.stderr)
                return 1
            print(f"packed {len(ds)} images into {path} ({path.stat().st_size / 1e6:.1f} MB)",
                  file=sys.stderr)
    except (DataError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary))
    else:
        print(_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
