"""On a GPU: lr_as_tensor with a compiled, capturable Adam step on CUDA never recompiles.

python benchmarks/cuda_tensor_lr.py
"""

import torch
import torch._dynamo

import schedreg

torch._dynamo.config.error_on_recompile = True
SOLVER = {
    "lr_scheduler_name": "WarmupCosineLR",
    "base_lr": 0.01,
    "max_iter": 40,
    "warmup_iters": 5,
    "optimizer": "Adam",
    "lr_as_tensor": True,
    "optimizer_args": {"capturable": True},
}


def main() -> None:
    model = torch.nn.Linear(64, 64).cuda()
    optimizer = schedreg.build_optimizer({"solver": SOLVER}, model)
    for group in optimizer.param_groups:  # capturable wants the lr on the parameters' device
        group["lr"] = group["lr"].cuda()
    scheduler = schedreg.build_lr_scheduler({"solver": SOLVER}, optimizer)

    @torch.compile
    def step():
        optimizer.step()

    seen = []
    for _ in range(30):
        for p in model.parameters():
            p.grad = torch.ones_like(p)
        step()
        seen.append(float(optimizer.param_groups[0]["lr"]))
        scheduler.step()
    print("device", optimizer.param_groups[0]["lr"].device, "lrs", [round(x, 8) for x in seen[:7]], "...")
    print("unique graphs", torch._dynamo.utils.counters["stats"]["unique_graphs"], "no recompiles")


if __name__ == "__main__":
    main()
