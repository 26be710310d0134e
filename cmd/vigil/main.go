// Command vigil is Vigil's single binary: offline analysis of captures and
// Zeek logs, conversion of captures to Zeek logs, and the live server.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigil-ndr/vigil/internal/app"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := root().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vigil:", err)
		var ee *app.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.Code)
		}
		os.Exit(app.ExitUsage) // cobra's own flag and argument errors
	}
}

func root() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vigil",
		Short: "Self-learning network detection and response",
		Long: `Vigil learns each device's pattern of life from network traffic (packet
captures, live interfaces, Zeek logs) and reports what departs from it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(analyzeCmd(), convertCmd(), serveCmd(), simulateCmd(), modelsCmd(), evalCmd())
	cmd.AddCommand(dgaCmd())
	return cmd
}

// loadConfig reads --config (or the defaults) and applies --internal.
func loadConfig(path, internal string) (config.Config, error) {
	cfg := config.Default()
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return cfg, &app.ExitError{Code: app.ExitUsage, Err: err}
		}
	}
	if internal != "" {
		p, err := config.ParsePrefixes(internal)
		if err != nil {
			return cfg, &app.ExitError{Code: app.ExitUsage, Err: fmt.Errorf("--internal: %w", err)}
		}
		cfg.Internal = p
	}
	return cfg, nil
}

// moreInputs lets `--pcap a.pcap b.pcap` name several files, as the
// FILE... in the usage says: arguments after the flags join whichever
// input flag was given.
func moreInputs(pcaps, zeek, args []string) ([]string, []string, error) {
	switch {
	case len(args) == 0:
	case len(pcaps) > 0 && len(zeek) == 0:
		pcaps = append(pcaps, args...)
	case len(zeek) > 0 && len(pcaps) == 0:
		zeek = append(zeek, args...)
	default:
		return nil, nil, &app.ExitError{Code: app.ExitUsage, Err: fmt.Errorf("unexpected arguments %q (name inputs with --pcap or --zeek)", args)}
	}
	return pcaps, zeek, nil
}

func modelsCmd() *cobra.Command {
	var (
		m          app.Models
		configPath string
	)
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Print the detection model catalogue with thresholds and MITRE mapping",
		Long: `Print every detection model: its catalogue name and short id (the key
under "models:" in the configuration file), MITRE ATT&CK techniques, when it
fires, how it behaves while baselines are learning, and the thresholds in
effect (defaults, or those of --config).`,
		Example: `  vigil models
  vigil models --config vigil.yaml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath, "")
			if err != nil {
				return err
			}
			m.Config, m.Stdout = cfg, cmd.OutOrStdout()
			return m.Run()
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "configuration file (YAML)")
	cmd.Flags().BoolVar(&m.JSON, "json", false, "one JSON object per model")
	return cmd
}

func analyzeCmd() *cobra.Command {
	var (
		a                    app.Analyze
		configPath, internal string
	)
	cmd := &cobra.Command{
		Use:   "analyze (--pcap FILE... | --zeek DIR...) --out DIR",
		Short: "Analyse captures or Zeek logs offline, in event time",
		Long: `Analyse packet captures (pcap, pcapng) or Zeek logs (TSV or JSON, gzip,
rotated directories) offline, in event time: a two-day capture replays in
seconds and gives the same result as watching it live.

Writes devices.jsonl, breaches.jsonl, incidents.jsonl, actions.jsonl and
ai.jsonl to --out (each sorted, one JSON object per line, empty when there is
nothing to report), then prints a summary.

Baselines (each device's pattern of life and every endpoint's prevalence)
are learned from the input; --save-baseline keeps them and --baseline starts
from them, so that a short capture is judged against weeks learned before,
or a day's logs continue the days before them.

Bad records (a truncated packet, a malformed log line) are reported with the
file and record number and skipped; --strict makes the first one fatal. A
file that is not a capture or log at all stops the run with exit status 2.`,
		Example: `  vigil analyze --pcap examples/office.pcap --out out
  vigil analyze --zeek /var/log/zeek/2026-11-26 --internal 10.0.0.0/8 --out out
  vigil analyze --zeek logs/day1 --save-baseline base.gz --out out1
  vigil analyze --zeek logs/day2 --baseline base.gz --save-baseline base.gz --out out2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(configPath, internal)
			if err != nil {
				return err
			}
			if a.PCAPs, a.Zeek, err = moreInputs(a.PCAPs, a.Zeek, args); err != nil {
				return err
			}
			a.Config, a.Stdout, a.Stderr = cfg, cmd.OutOrStdout(), cmd.ErrOrStderr()
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&a.PCAPs, "pcap", nil, "capture files (pcap or pcapng), read in order as one stream")
	f.StringSliceVar(&a.Zeek, "zeek", nil, "Zeek log directories or files")
	f.StringVar(&a.Out, "out", "", "output directory for the JSONL results (required)")
	f.StringVar(&configPath, "config", "", "configuration file (YAML)")
	f.StringVar(&internal, "internal", "", "internal address ranges, comma-separated (default RFC 1918, RFC 4193, link-local, loopback)")
	f.BoolVar(&a.Strict, "strict", false, "fail on the first bad record instead of skipping it")
	f.StringVar(&a.Baseline, "baseline", "", "continue from the baselines an earlier run saved (pattern of life and prevalence)")
	f.StringVar(&a.SaveBaseline, "save-baseline", "", "save the baselines at the end, for a later --baseline")
	return cmd
}

func convertCmd() *cobra.Command {
	var (
		c          app.Convert
		configPath string
	)
	cmd := &cobra.Command{
		Use:   "convert --pcap FILE... --zeek-out DIR",
		Short: "Turn captures into Zeek-format logs",
		Long: `Decode packet captures and write Zeek-format TSV logs (conn.log, http.log,
ssl.log, x509.log, dns.log, dhcp.log), so Vigil can stand in for a Zeek
sensor in front of other tools. Values Zeek lacks (JA4, Content-Type,
self-signed) are extra trailing columns that Zeek readers ignore.`,
		Example: `  vigil convert --pcap examples/office.pcap --zeek-out logs`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(configPath, "")
			if err != nil {
				return err
			}
			if c.PCAPs, _, err = moreInputs(c.PCAPs, nil, args); err != nil {
				return err
			}
			c.Config, c.Stdout, c.Stderr = cfg, cmd.OutOrStdout(), cmd.ErrOrStderr()
			return c.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&c.PCAPs, "pcap", nil, "capture files (pcap or pcapng)")
	f.StringVar(&c.ZeekOut, "zeek-out", "", "directory for the Zeek logs (required)")
	f.StringVar(&configPath, "config", "", "configuration file (YAML)")
	f.BoolVar(&c.Strict, "strict", false, "fail on the first bad record instead of skipping it")
	return cmd
}

func serveCmd() *cobra.Command {
	var (
		s                    app.Serve
		configPath, internal string
	)
	cmd := &cobra.Command{
		Use:   "serve (--iface IF | --zeek-follow DIR | --pcap FILE...) [--data DIR]",
		Short: "Run the live server: ingest and detection into the store",
		Long: `Ingest traffic continuously into the embedded store under --data:

  --iface IF         capture from a network interface with AF_PACKET
                     (Linux; needs root or CAP_NET_RAW)
  --zeek-follow DIR  follow a live Zeek log directory (new lines, rotation);
                     read offsets are checkpointed in the store, so a restart
                     (even after kill -9) neither loses nor repeats records
  --pcap FILE...     ingest capture files, then exit

Progress is logged every --log-every. Stop with Ctrl-C or SIGTERM.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(configPath, internal)
			if err != nil {
				return err
			}
			if len(args) > 0 {
				if len(s.PCAPs) == 0 {
					return &app.ExitError{Code: app.ExitUsage, Err: fmt.Errorf("unexpected arguments %q", args)}
				}
				s.PCAPs = append(s.PCAPs, args...)
			}
			s.Config, s.Stdout, s.Stderr = cfg, cmd.OutOrStdout(), cmd.ErrOrStderr()
			return s.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.Iface, "iface", "", "network interface to capture from (AF_PACKET)")
	f.StringVar(&s.ZeekFollow, "zeek-follow", "", "Zeek log directory to follow")
	f.StringSliceVar(&s.PCAPs, "pcap", nil, "capture files to ingest, then exit")
	f.StringVar(&s.Data, "data", "vigil-data", "data directory (holds vigil.db)")
	f.StringVar(&configPath, "config", "", "configuration file (YAML)")
	f.StringVar(&internal, "internal", "", "internal address ranges, comma-separated (default RFC 1918, RFC 4193, link-local, loopback)")
	f.DurationVar(&s.Poll, "poll", app.DefaultPoll, "how often to look for new Zeek log lines")
	f.DurationVar(&s.LogEvery, "log-every", app.DefaultLogEvery, "how often to log ingest progress")
	return cmd
}

func simulateCmd() *cobra.Command {
	var s app.Simulate
	cmd := &cobra.Command{
		Use:   "simulate --scenario NAME (--out-pcap FILE | --out-zeek DIR | --out-events FILE)",
		Short: "Generate an organisation's traffic with an injected scenario",
		Long: `Simulate a realistic organisation's network traffic, deterministically from a
seed: devices with roles, working hours, weekends and holidays, their benign
pattern of life (browsing, SaaS, updates and telemetry check-ins, NTP,
backups, developers' tools), and a scenario injected on top.

Scenarios: ` + strings.Join(sim.Scenarios(), ", ") + `.

The output is a capture (real protocol bytes that tshark and Suricata read),
Zeek logs, or a JSONL file of events, with the ground truth beside it
(truth.json in a Zeek directory, NAME.truth.json beside a file). The same
scenario, seed, days and devices always give byte-identical output.`,
		Example: `  vigil simulate --scenario macos-clickfix --seed 7 --days 14 --devices 40 --out-pcap clickfix.pcap
  vigil simulate --scenario benign-only --days 28 --devices 500 --out-zeek logs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s.Stdout, s.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return s.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.Config.Scenario, "scenario", "", "scenario to inject (required): "+strings.Join(sim.Scenarios(), ", "))
	f.Uint64Var(&s.Config.Seed, "seed", 1, "random seed")
	f.IntVar(&s.Config.Days, "days", 28, "days to simulate")
	f.IntVar(&s.Config.Devices, "devices", 60, "devices in the organisation")
	f.StringVar(&s.OutPCAP, "out-pcap", "", "write a pcap capture")
	f.StringVar(&s.OutZeek, "out-zeek", "", "write Zeek TSV logs into this directory")
	f.StringVar(&s.OutEvents, "out-events", "", "write events as JSON lines")
	return cmd
}

func dgaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dga",
		Short: "Score domain names with the embedded DGA model, or evaluate it",
	}
	score := &cobra.Command{
		Use:   "score",
		Short: "Read names on standard input and print name<TAB>score (0-1) for each",
		Long: `Read one domain name per line on standard input and print name<TAB>score,
the probability (0-1) that the name comes from a domain generation algorithm.
The registrable label is judged ("x1.cdn.example.com" by "example").`,
		Example: "  printf 'google.com\nxjo4vk9bk1f19hxz.net\n' | vigil dga score",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return (&app.DGAScore{Stdin: cmd.InOrStdin(), Stdout: cmd.OutOrStdout()}).Run()
		},
	}
	cmd.AddCommand(score, dgaEvalCmd("eval"))
	return cmd
}

// evalCmd groups the evaluations: `vigil eval dga` (the same as `vigil dga
// eval`).
func evalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure detection quality on the development data",
	}
	cmd.AddCommand(dgaEvalCmd("dga"))
	return cmd
}

// dgaEvalCmd builds the DGA evaluation under the given command name.
func dgaEvalCmd(use string) *cobra.Command {
	e := app.DGAEval{}
	eval := &cobra.Command{
		Use:   use,
		Short: "Print ROC AUC and TPR at 0.1% FPR per DGA family on the held-out split",
		Long: `Evaluate the embedded DGA model on the held-out split of the development
lists under --data (../shared/data): per DGA family, ROC AUC and the true-positive
rate at 0.1% false positives against held-out benign names and the hard (long-tail)
benign set, and (unless --no-leave-out) the same for a model retrained without any
name of that family.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e.Stdout = cmd.OutOrStdout()
			return e.Run()
		},
	}
	var noLeaveOut bool
	eval.Flags().StringVar(&e.Data, "data", "../shared/data", "directory holding top-domains-zer0h, dga-andrewaeva and dga-360netlab")
	eval.Flags().BoolVar(&noLeaveOut, "no-leave-out", false, "skip retraining without each family (faster)")
	eval.PreRun = func(*cobra.Command, []string) { e.LeaveOut = !noLeaveOut }
	return eval
}
