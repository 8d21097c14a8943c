* memprop golden export

* ideal neuron: virtual ground vvg senses I; s = -u, tau du/dt = -u + R_f I; V = rho(u), -V
.subckt neuron n s v vm
vvg n 0 dc 0
fint s 0 vvg 1
rf s 0 10000
cf s 0 1e-10
ebsat v 0 VOL='min(max((-V(s)),0),1)'
einv vm 0 v 0 -1
.ends neuron

* differential pair: G+ = 1/r_pos from the +V line, G- = 1/r_neg from the -V line
.subckt diffpair sv svm t r_pos=100000 r_neg=100000
rp sv t 'r_pos'
rm svm t 'r_neg'
.ends diffpair

* input and bias lines: +V sources, -V through inverters
vx_000 x_000_v 0 dc 0.1
ex_000 x_000_vm 0 x_000_v 0 -1
vx_001 x_001_v 0 dc 0.5
ex_001 x_001_vm 0 x_001_v 0 -1
vx_002 x_002_v 0 dc 0.9
ex_002 x_002_vm 0 x_002_v 0 -1
vb_000 b_000_v 0 dc 1
eb_000 b_000_vm 0 b_000_v 0 -1

* neurons
xl1_000 l1_000_n l1_000_s l1_000_v l1_000_vm neuron
xl1_001 l1_001_n l1_001_s l1_001_v l1_001_vm neuron
xl2_000 l2_000_n l2_000_s l2_000_v l2_000_vm neuron
xl2_001 l2_001_n l2_001_s l2_001_v l2_001_vm neuron

* crossbar l1_x: 2 x 3 pairs from x into l1
xs_l1_x_000_000 x_000_v x_000_vm l1_000_n diffpair r_pos=15266.3828552 r_neg=28171.7131187
xs_l1_x_000_001 x_001_v x_001_vm l1_000_n diffpair r_pos=39554.7745927 r_neg=13206.794286
xs_l1_x_000_002 x_002_v x_002_vm l1_000_n diffpair r_pos=1000000 r_neg=10000
xs_l1_x_001_000 x_000_v x_000_vm l1_001_n diffpair r_pos=1000000 r_neg=10000
xs_l1_x_001_001 x_001_v x_001_vm l1_001_n diffpair r_pos=11790.0843411 r_neg=61793.3746897
xs_l1_x_001_002 x_002_v x_002_vm l1_001_n diffpair r_pos=10447.6714286 r_neg=189218.628414

* crossbar l2_l1: 2 x 2 pairs from l1 into l2
xs_l2_l1_000_000 l1_000_v l1_000_vm l2_000_n diffpair r_pos=15733.1254257 r_neg=26709.5172422
xs_l2_l1_000_001 l1_001_v l1_001_vm l2_000_n diffpair r_pos=12721.4367046 r_neg=44657.7568979
xs_l2_l1_001_000 l1_000_v l1_000_vm l2_001_n diffpair r_pos=17907.3639134 r_neg=22144.9356371
xs_l2_l1_001_001 l1_001_v l1_001_vm l2_001_n diffpair r_pos=10000 r_neg=1000000

* crossbar l1_l2: 2 x 2 pairs from l2 into l1 (programmed as the transpose of l2_l1)
xs_l1_l2_000_000 l2_000_v l2_000_vm l1_000_n diffpair r_pos=15733.1254257 r_neg=26709.5172422
xs_l1_l2_000_001 l2_001_v l2_001_vm l1_000_n diffpair r_pos=17907.3639134 r_neg=22144.9356371
xs_l1_l2_001_000 l2_000_v l2_000_vm l1_001_n diffpair r_pos=12721.4367046 r_neg=44657.7568979
xs_l1_l2_001_001 l2_001_v l2_001_vm l1_001_n diffpair r_pos=10000 r_neg=1000000

* crossbar l1_b: 2 x 1 pairs from b into l1
xs_l1_b_000_000 b_000_v b_000_vm l1_000_n diffpair r_pos=19801.980198 r_neg=19801.980198
xs_l1_b_001_000 b_000_v b_000_vm l1_001_n diffpair r_pos=19801.980198 r_neg=19801.980198

* crossbar l2_b: 2 x 1 pairs from b into l2
xs_l2_b_000_000 b_000_v b_000_vm l2_000_n diffpair r_pos=19801.980198 r_neg=19801.980198
xs_l2_b_001_000 b_000_v b_000_vm l2_001_n diffpair r_pos=19801.980198 r_neg=19801.980198

* nudging: beta * G_ref * (y - V) into each output's summing node
vy_l2_000 y_l2_000 0 dc 1
gn_l2_000 0 l2_000_n y_l2_000 l2_000_v 2e-05
vy_l2_001 y_l2_001 0 dc 0
gn_l2_001 0 l2_001_n y_l2_001 l2_001_v 2e-05
