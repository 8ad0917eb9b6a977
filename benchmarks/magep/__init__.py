"""MAGEP-NFN benchmarks: LightningModules, DataModules and LightningCLI entry points for the three tasks.

python -m benchmarks.magep generalization fit --config benchmarks/configs/magep/generalization_relu.yaml
python -m benchmarks.magep inr_classification fit --config benchmarks/configs/magep/inr_classification.yaml
python -m benchmarks.magep editing fit --config benchmarks/configs/magep/editing.yaml
python -m benchmarks.magep.results          # every backbone on every task, JSON + plots in results/
"""
