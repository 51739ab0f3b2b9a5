"""`LaptTrainer`: `transformers.Trainer` with the masked-only MLM loss, non-finite-loss guard and FLOP counting."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader
from transformers import Trainer
from transformers.trainer import TRAINING_ARGS_NAME

from ..layout import TRAINABLE_BASE_FILE
from .bottleneck_modes import has_bottleneck, is_bottleneck_dir, load_lapt_bottleneck, save_lapt_bottleneck
from .callbacks import FreezeSchedule
from .data import StreamingMLMDataset
from .flops import FlopCounter
from .head import head_parameters
from .masked_head import last_layer_work, mlm_loss, unwrap_mlm, uses_masked_only_head
from .modes import trainable_base_state
from .packing import attach_attention_mask
from .stability import NonFiniteGuard, zero_loss_like

logger = logging.getLogger(__name__)


class LaptTrainer(Trainer):
    """Trainer for continued MLM.

    The loss is a sum over labelled positions divided by ``num_items_in_batch`` (the labelled positions of the
    whole global batch, counted by the Trainer across gradient accumulation and processes), so the gradient equals
    the single-process mean over the global batch whatever the split.
    """

    def __init__(
        self,
        *args,
        flop_counter: FlopCounter | None = None,
        freeze_schedule: FreezeSchedule | None = None,
        guard: NonFiniteGuard | None = None,
        log_draws: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        # Our compute_loss normalizes by num_items_in_batch, so let the Trainer count them and not rescale.
        self.model_accepts_loss_kwargs = True
        self.flop_counter = flop_counter
        self.freeze_schedule = freeze_schedule
        self.guard = guard or NonFiniteGuard()
        self.draws_seen: list[int] | None = [] if log_draws else None
        self._flops_reported = 0.0
        self._body_param = next(
            (p for n, p in unwrap_mlm(self.model).named_parameters() if ".encoder." in f".{n}"), None
        )
        # Whether the MLM head's transform and its output projection train (adapter modes: often neither).
        self._head_params = list(head_parameters(self.model).values())
        output = getattr(unwrap_mlm(self.model), "get_output_embeddings", lambda: None)()
        self._output_projection = output.weight if output is not None else None

    # --- loss -----------------------------------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = dict(inputs)
        draws = inputs.pop("draw_index", None)
        if draws is not None and self.draws_seen is not None and model.training:
            self.draws_seen.extend(draws.tolist())
        labels = inputs["labels"]
        inputs = attach_attention_mask(inputs, unwrap_mlm(model).dtype)  # packed rows: a block-diagonal 4D mask
        if uses_masked_only_head(model):
            outputs = model(**inputs, num_items_in_batch=num_items_in_batch)
            loss = outputs.loss
        else:  # stock head: every position is projected; same loss formula
            outputs = model(
                input_ids=inputs["input_ids"],
                attention_mask=inputs.get("attention_mask"),
                position_ids=inputs.get("position_ids"),
            )
            logits = outputs.logits
            loss = mlm_loss(logits.view(-1, logits.shape[-1]), labels.view(-1), num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # DDP averages gradients over processes
        if model.training:
            loss = self._check_finite(model, loss)
        return (loss, outputs) if return_outputs else loss

    def _check_finite(self, model, loss: torch.Tensor) -> torch.Tensor:
        finite = torch.isfinite(loss.detach()).float().reshape(1)
        if self.accelerator.num_processes > 1:  # every rank must skip the same step
            finite = self.accelerator.gather(finite).min().reshape(1)
        if bool(finite.item()):
            return loss
        self.guard.flag()
        return zero_loss_like(model, loss)

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        if self.freeze_schedule is not None and not self.freeze_schedule.toggle_requires_grad:
            self.freeze_schedule.null_grads()
        return loss

    # --- data: each rank reads its own slice of the α-sampled stream ------------------------------------------
    def get_train_dataloader(self) -> DataLoader:
        if not isinstance(self.train_dataset, StreamingMLMDataset):
            return super().get_train_dataloader()
        # Not passed through accelerate: its dispatching needs equal padded lengths and its sharding would make
        # every rank tokenize every line. The dataset shards itself by draw index instead.
        self.train_dataset.shard(self.args.process_index, self.args.world_size, self._train_batch_size)
        return DataLoader(
            self.train_dataset,
            batch_size=self._train_batch_size,
            collate_fn=self.data_collator,
            pin_memory=self.args.dataloader_pin_memory,
            # Starting an iterator draws a (here unused) worker seed from this generator. From the global one, it
            # would take one draw right after the Trainer restores a checkpoint's RNG state, and every later
            # dropout mask of a resumed run would differ from the uninterrupted run's.
            generator=torch.Generator().manual_seed(self.args.seed),
        )

    # --- evaluation leaves the training RNG alone ---------------------------------------------------------------
    def evaluate(self, *args, **kwargs):
        # The dev loader's iterator also draws from the global RNG: without the fork, when and how often the dev
        # loss is computed would change the dropout masks of the following training steps.
        with torch.random.fork_rng(devices=[]):
            return super().evaluate(*args, **kwargs)

    # --- FLOPs ----------------------------------------------------------------------------------------------
    def floating_point_ops(self, inputs) -> float:
        if self.flop_counter is None:
            return super().floating_point_ops(inputs)
        batch, length = inputs["input_ids"].shape
        projected = int((inputs["labels"] != -100).sum()) if uses_masked_only_head(self.model) else batch * length
        body_trains = self._body_param is not None and self._body_param.requires_grad
        if self.freeze_schedule is not None and self.freeze_schedule.active:
            body_trains = False
        head_trains = any(p.requires_grad for p in self._head_params)
        projection_trains = self._output_projection is not None and self._output_projection.requires_grad
        self.flop_counter.add_batch(batch, length, projected, body_trains=body_trains, head_trains=head_trains,
                                    output_projection_trains=projection_trains,
                                    last_layer_rows_and_slots=last_layer_work(self.model, inputs["labels"]))  # fmt: skip
        # Everything counted since the last call, optimizer steps included (HF sums this over processes).
        delta = self.flop_counter.total - self._flops_reported
        self._flops_reported = self.flop_counter.total
        return delta

    # --- adapters: the trained embeddings/head live beside the adapter ---------------------------------------
    def _save(self, output_dir: str | None = None, state_dict=None):
        if has_bottleneck(self.model):  # seq_bn/seq_bn_inv: the adapter alone, like PEFT's adapter-only save
            output_dir = output_dir or self.args.output_dir
            if self.args.should_save:
                save_lapt_bottleneck(self.model, output_dir)
                if self.processing_class is not None:
                    self.processing_class.save_pretrained(output_dir)
                torch.save(self.args, Path(output_dir) / TRAINING_ARGS_NAME)
            return
        super()._save(output_dir, state_dict)
        if hasattr(self.model, "peft_config"):
            extra = trainable_base_state(self.model)
            if extra:
                save_file(extra, str(Path(output_dir or self.args.output_dir) / TRAINABLE_BASE_FILE))

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        if is_bottleneck_dir(resume_from_checkpoint):
            load_lapt_bottleneck(model or self.model, resume_from_checkpoint)
            return
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        extra = Path(resume_from_checkpoint) / TRAINABLE_BASE_FILE
        if extra.is_file():
            unwrap_mlm(model or self.model).load_state_dict(load_file(str(extra)), strict=False)
