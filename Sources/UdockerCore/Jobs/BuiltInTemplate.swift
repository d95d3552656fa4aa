/// The job templates built into the launcher, the text of slurm/job.sh.in and pbs/job.sh.in in the source tree (a
/// test compares a copied launcher's scripts with the examples made from those files), so that a launcher without
/// an installed share/udocker (an unpacked bundle, a copied binary) still writes job scripts. A site's
/// `template_dir`, or an installed share/udocker, comes first.
enum BuiltInTemplate {
    static func text(_ scheduler: Scheduler) -> String {
        switch scheduler {
        case .slurm: return slurm
        case .pbs: return pbs
        }
    }

    private static let slurm = """
        #!/bin/bash
        {{directives}}
        #
        # A udocker-launch job for SLURM, made from the site's template slurm/job.sh.in (edit that file, not this one,
        # to change what every generated script does: module loads, site variables, clean-up).
        {{generated}}
        set -euo pipefail

        {{settings}}

        {{broadcast}}

        {{stage}}

        {{run}}

        """

    private static let pbs = """
        #!/bin/bash
        {{directives}}
        #
        # A udocker-launch job for PBS, made from the site's template pbs/job.sh.in (edit that file, not this one,
        # to change what every generated script does: module loads, site variables, clean-up).
        {{generated}}
        set -euo pipefail
        cd "${PBS_O_WORKDIR:-$PWD}"

        {{settings}}

        {{stage}}

        {{run}}

        """
}
