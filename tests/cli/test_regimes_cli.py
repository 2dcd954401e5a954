"""`tocsin regimes check`, in process: an operator checks their regimes file before a breach needs it."""

from __future__ import annotations

from typer.testing import CliRunner

from tocsin.cli.main import app as cli


def test_regimes_check_lists_what_is_in_force_and_names_a_bad_field(tmp_path):
    ours = tmp_path / "regimes.yaml"
    ours.write_text("enable: [circia]\n", encoding="utf-8")
    runner = CliRunner()
    good = runner.invoke(cli, ["regimes", "check", "--data-dir", str(tmp_path)],
                         env={"TOCSIN_REGIMES_FILE": str(ours), "COLUMNS": "200"})
    assert good.exit_code == 0, good.output
    assert "circia: US CIRCIA (proposed rule), 2 obligation(s)" in good.output
    assert "(disabled)" not in good.output

    ours.write_text("regimes:\n  - {id: ours, name: Ours, source: s, obligations: [{id: a, name: A, notify: n, "
                    "due: [{from: aware_at, amount: 3, unit: weeks}]}]}\n", encoding="utf-8")
    bad = runner.invoke(cli, ["regimes", "check", "--data-dir", str(tmp_path)],
                        env={"TOCSIN_REGIMES_FILE": str(ours), "COLUMNS": "200"})
    assert bad.exit_code == 1
    assert f"{ours}: regimes[0](ours).obligations[0](a).due[0].unit" in bad.output
