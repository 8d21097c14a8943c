* testbench: operating point of network.sp (run: hspice testbench.sp)
.include 'network.sp'
.option post
.op
.print dc v(l1_000_v) v(l1_001_v) v(l1_002_v) v(l2_000_v) v(l2_001_v)
.end
